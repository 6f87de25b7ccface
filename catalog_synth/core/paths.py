"""One rule for relative paths in the config: they are relative to the config file's folder.

That holds for ``store``, ``catalog.file`` and the database file of a ``sqlite:///`` or
``duckdb:///`` URL alike, whatever the current directory is (cron, a service, another shell).
"""

from __future__ import annotations

import re
from pathlib import Path

_FILE_URL = re.compile(r"^(?P<scheme>(?:sqlite|duckdb)(?:\+[A-Za-z0-9_]+)?:///)(?P<path>[^?]*)(?P<query>\?.*)?$")


def file_url_relative_to(url: str, base: Path) -> str:
    """``url`` with a relative SQLite/DuckDB file path made absolute against ``base``; any other
    URL (a server, ``:memory:``, ``file:`` URIs, an absolute or empty path) as it is."""
    match = _FILE_URL.match(url)
    if not match:
        return url
    path = match["path"]
    if not path or path == ":memory:" or path.startswith(("file:", "/", "~")) or "${" in path:
        return url
    return f"{match['scheme']}{base / path}{match['query'] or ''}"

"""Logging set-up: plain or JSON lines on stderr, library chatter kept quiet.

Log records carry table names, counts and reasons only; no stage logs values.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from datetime import datetime, timezone

NOISY_LOGGERS = ("sdv", "rdt", "copulas", "SingleTableSynthesizer", "MultiTableSynthesizer", "sdmetrics", "faker")


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry)


def configure_logging(*, json_lines: bool = False, verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # Library warnings (e.g. SDV's) can quote data; they are not for end users.
    warnings.filterwarnings("ignore")

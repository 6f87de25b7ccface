"""Schema-wide rules as a copy's notes say them, and back (names and shares, never a value).

A rule's outcome is one note, ``rule NAME (KIND): real 99.8%, synthetic 99.6%; ACTION``, written
where the rule is kept (``catalog_synth.link.enforce``) and carried like every note to the
summary, ``sync --report`` and the stored copy's ``report``; :func:`rules_of` reads them back as
entries for JSON and tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PREFIX = "rule "
_NOTE = re.compile(
    r"^rule (?P<rule>.+) \((?P<kind>\w+)\): real (?P<real>[\d.]+)%, "
    r"(?:synthetic (?P<synthetic>[\d.]+)%|synthetic not measured); (?P<action>.*)$"
)


def rule_note(name: str, kind: str, real: float, synthetic: float | None, action: str) -> str:
    shown = "synthetic not measured" if synthetic is None else f"synthetic {synthetic:.1%}"
    return f"{PREFIX}{name} ({kind}): real {real:.1%}, {shown}; {action}"


def rules_of(notes: Iterable[str] | None) -> list[dict[str, Any]]:
    """The rule entries among ``notes``: rule, kind, real and synthetic share, action."""
    entries = []
    for note in notes or ():
        found = _NOTE.match(note)
        if found:
            synthetic = found["synthetic"]
            entries.append({
                "rule": found["rule"], "kind": found["kind"], "real_share": round(float(found["real"]) / 100, 4),
                "synthetic_share": None if synthetic is None else round(float(synthetic) / 100, 4),
                "action": found["action"],
            })  # fmt: skip
    return entries

"""Sandbox messages reworded for the command line: the HTTP API points at ``/api/tables``,
a terminal user gets the table names and the command that shows one."""

from __future__ import annotations

from pathlib import Path

API_HINT = "(see /api/tables)"


def for_the_command_line(message: str, store: Path) -> str:
    """``message`` with the API's advice replaced by CLI advice."""
    if API_HINT not in message:
        return message
    try:
        from catalog_synth.store.copies import Store

        names = [table.logical_name for table in Store(store).tables()]
    except Exception:  # no store: the message stands without the list
        names = []
    listed = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    advice = f"(synthetic tables: {listed}; `catalog-synth preview TABLE` shows one)" if names else "(the store has no tables yet: run `catalog-synth sync`)"
    return message.replace(API_HINT, advice)

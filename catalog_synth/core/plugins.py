"""Plugins found through entry points: connectors, generators and catalog sinks.

Each group is read from the installed distributions once per process: reading them costs
a few milliseconds, and a sync asks for its generator once per table.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points


class UnknownPlugin(LookupError):
    """No installed plugin of the group has that name; the message lists those installed."""

    def __init__(self, kind: str, name: str, installed: tuple[str, ...]):
        super().__init__(f"unknown {kind} {name!r} (installed: {', '.join(installed) or 'none'})")


@cache
def installed(group: str) -> tuple[str, ...]:
    """The names of the group's plugins, sorted."""
    return tuple(sorted({entry_point.name for entry_point in entry_points(group=group)}))


@cache
def load(group: str, name: str, kind: str) -> object:
    """The object the named plugin points at (``kind`` names it in the error)."""
    for entry_point in entry_points(group=group, name=name):
        return entry_point.load()
    raise UnknownPlugin(kind, name, installed(group))

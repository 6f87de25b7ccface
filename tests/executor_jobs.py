"""Tasks for the executor tests, in a module light enough for spawned workers to import quickly."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

HANG_SECONDS = 3600  # "forever", from the point of view of a test


@dataclass(frozen=True)
class Job:
    """A task as executors see them: anything with ``failed(reason, seconds)``."""

    name: str
    action: str = "ok"  # ok | hang | die | allocate

    def failed(self, reason: str, seconds: float) -> tuple[str, str]:
        return self.name, f"failed: {reason}"


def work(job: Job) -> tuple[str, str]:
    if job.action == "hang":
        time.sleep(HANG_SECONDS)
    elif job.action == "die":
        os._exit(137)  # as the kernel's OOM killer would leave it
    elif job.action == "allocate":
        bytearray(2 * 1024**3)
    return job.name, f"ok in {os.getpid()}"


def cheap_warm_up() -> None:
    import catalog_synth.core.types  # noqa: F401


def connector_cache_keys() -> list[str]:
    from catalog_synth.run.connections import _CONNECTORS

    return sorted(name for name, _ in _CONNECTORS)

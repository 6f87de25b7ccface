"""Fair shares of the query slots: a client that floods the sandbox is told to slow down (429),
and another client's query still answers at once.

The HTTP tests run the real app under uvicorn on 127.0.0.1 over a real DuckDB store; the
slot tests use real threads. Nothing sleeps to let time pass: each step waits for the state
it needs (a query running, a query waiting) and asserts on what happened.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sandbox_support import (
    client_from,
    people_frame,
    running_server,
    sandbox_config,
    synthetic_table,
    write_store,
)

from catalog_synth.core.sections import SandboxConfig
from catalog_synth.serve.app import create_app
from catalog_synth.serve.errors import QueryError, SandboxBusy, TooManyQueries
from catalog_synth.serve.limits import QuerySlots

PEOPLE = people_frame(200)
# Runs until the sandbox's time limit stops it.
HEAVY = "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7"
LIGHT = "SELECT city, count(*) AS n FROM people GROUP BY city ORDER BY city"
FLOOD = 8
SLOTS = 4  # so each client's share is 2
INNOCENT_ANSWERS_WITHIN_SECONDS = 2.0


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for a state (not for time): poll ``condition`` until it holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the expected state never came"
        time.sleep(0.01)


# --- the slots themselves --------------------------------------------------------------


class Holder:
    """A thread that takes a slot for ``client`` and keeps it until :meth:`finish`."""

    def __init__(self, slots: QuerySlots, client: str, granted: list[str]):
        self.outcome: str | QueryError = "waiting"
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(slots, client, granted), daemon=True)
        self._thread.start()

    def _hold(self, slots: QuerySlots, client: str, granted: list[str]) -> None:
        try:
            with slots.hold(client):
                granted.append(client)
                self._release.wait(60)
            self.outcome = "ran"
        except QueryError as exc:
            self.outcome = exc

    def finish(self) -> None:
        self._release.set()
        self._thread.join(60)


def test_a_client_past_its_share_is_refused_at_once_and_others_are_not() -> None:
    slots, granted = QuerySlots(total=4, per_client=2, wait_seconds=60), []
    holders = [Holder(slots, "a", granted), Holder(slots, "a", granted)]
    wait_until(lambda: slots.running == 2)
    with pytest.raises(TooManyQueries, match="sandbox.max_queries_per_client"):
        with slots.hold("a"):
            pass
    with slots.hold("b"):
        assert slots.running == 3
    for holder in holders:
        holder.finish()
    assert [holder.outcome for holder in holders] == ["ran", "ran"] and slots.running == 0


def test_a_freed_slot_goes_to_the_waiting_client_that_runs_fewest() -> None:
    slots, granted = QuerySlots(total=3, per_client=2, wait_seconds=60), []
    a1, a2, b1 = Holder(slots, "a", granted), Holder(slots, "a", granted), Holder(slots, "b", granted)
    wait_until(lambda: slots.running == 3)
    b2 = Holder(slots, "b", granted)  # waits first ...
    wait_until(lambda: slots.waiting == 1)
    c1 = Holder(slots, "c", granted)  # ... c waits second, but runs nothing yet
    wait_until(lambda: slots.waiting == 2)
    a1.finish()
    wait_until(lambda: len(granted) == 4)
    assert granted[-1] == "c"
    a2.finish()
    wait_until(lambda: len(granted) == 5)
    assert granted[-1] == "b"
    for holder in (b1, b2, c1):
        holder.finish()
    assert slots.running == slots.waiting == 0


def test_a_wait_that_runs_out_is_refused_as_busy_and_leaves_the_queue() -> None:
    slots, granted = QuerySlots(total=1, per_client=1, wait_seconds=0.05), []
    holder = Holder(slots, "a", granted)
    wait_until(lambda: slots.running == 1)
    with pytest.raises(SandboxBusy, match="all 1 query slots stayed busy"):
        with slots.hold("b"):
            pass
    assert slots.waiting == 0
    holder.finish()
    with slots.hold("b"):
        assert slots.running == 1


@pytest.mark.parametrize(
    ("settings", "share"),
    [({"max_concurrent_queries": 8}, 4), ({"max_concurrent_queries": 1}, 1), ({"max_concurrent_queries": 5}, 2),
     ({"max_queries_per_client": 3}, 3), ({"max_concurrent_queries": 4, "max_queries_per_client": 9}, 4)],
)
def test_the_share_defaults_to_half_the_slots(settings: dict[str, int], share: int) -> None:
    assert SandboxConfig(**settings).queries_per_client == share


# --- over HTTP -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fairness") / "store.duckdb"
    write_store(path, [synthetic_table("public", "people", PEOPLE)])
    return path


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clients(mode: str) -> tuple[dict[str, object], Callable[[str, str], httpx.Client]]:
    """Sandbox settings and a client factory (role, base URL) for each way clients are told apart."""
    if mode == "token":
        tokens = {"flooder": "token-of-the-flooder", "innocent": "token-of-the-innocent"}
        settings = {"token_hashes": [digest(token) for token in tokens.values()]}
        return settings, lambda role, url: client_from("127.0.0.1", url, authorization=f"Bearer {tokens[role]}")
    addresses = {"flooder": "127.0.0.2", "innocent": "127.0.0.3"}
    return {}, lambda role, url: client_from(addresses[role], url)


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.fixture(params=["token", "address"])
def sandbox(request: pytest.FixtureRequest, store: Path) -> Iterator[tuple[str, Callable[[str, str], httpx.Client]]]:
    settings, make_client = clients(request.param)
    app = create_app(sandbox_config(store, max_concurrent_queries=SLOTS, timeout_seconds=6.0, **settings))
    with running_server(app) as url:
        yield url, make_client


def test_a_flood_from_one_client_leaves_another_clients_query_fast(
    sandbox: tuple[str, Callable[[str, str], httpx.Client]],
) -> None:
    url, make_client = sandbox
    flood: list[httpx.Response] = []

    def flood_once() -> None:
        with make_client("flooder", url) as flooder:
            flood.append(flooder.post("/api/query", json={"sql": HEAVY}))

    threads = [threading.Thread(target=flood_once) for _ in range(FLOOD)]
    for thread in threads:
        thread.start()
    with make_client("innocent", url) as innocent:
        # The flooder holds its share (2 slots) and the rest of its queries were turned away.
        wait_until(lambda: metric(innocent, "catalog_synth_sandbox_queries_running") == 2
                   and metric(innocent, "catalog_synth_sandbox_query_errors_total", kind="too_many") == FLOOD - 2)
        started = time.monotonic()
        answer = innocent.post("/api/query", json={"sql": LIGHT})
        seconds = time.monotonic() - started
        flood_still_running = metric(innocent, "catalog_synth_sandbox_queries_running") == 2
    for thread in threads:
        thread.join(60)

    assert answer.status_code == 200, answer.text
    expected = PEOPLE.groupby("city").size().sort_index()
    assert answer.json()["rows"] == [[city, int(n)] for city, n in expected.items()]
    assert seconds < INNOCENT_ANSWERS_WITHIN_SECONDS
    assert flood_still_running  # it answered beside the flood, not after it
    refused = [response for response in flood if response.status_code == 429]
    assert len(refused) == FLOOD - 2
    assert all(r.headers["retry-after"] == "1" and r.json()["error"]["kind"] == "too_many" for r in refused)
    assert sorted(response.status_code for response in flood if response.status_code != 429) == [408, 408]

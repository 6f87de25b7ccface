"""Previews that look real, measured with ``catalog_synth.gate.realism`` on seeded syncs of real tables.

Chinook's customers, employees and invoices (people in 24 countries, each invoice repeating its
customer's billing address) and the demo's people and orders, synced into the store: per table,
short texts read like language as often as the real ones do (within one point), every country
is a real one, phones and postal codes agree with the row's country nearly as often as in the
real table, no float noise; a preview page in headless Chromium, kept as a screenshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from public_schemas import CHINOOK, load
from sandbox_support import CHROMIUM, CHROMIUM_ARGS, running_server, sandbox_config

from catalog_synth.core.config import validate_config
from catalog_synth.core.types import TableStatus
from catalog_synth.gate.realism import (
    LanguageModel,
    gibberish_threshold,
    language_model,
    measure,
    short_texts,
    table_locales,
)
from catalog_synth.protect.fakes import fit_text
from catalog_synth.run.sync import run_sync
from catalog_synth.serve.app import create_app
from catalog_synth.store.copies import Store

ARTIFACTS = Path(os.environ.get("CATALOG_SYNTH_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))


def _synced(url: str, store: Path, include: list[str]) -> None:
    config = validate_config({"warehouses": [{"name": "w", "url": url, "include": include}], "seed": 4,
                              "executor": {"workers": 2}, "store": str(store), "catalog": {"file": None}})
    report = run_sync(config)
    assert {r.ref.name: r.reason for r in report.results if r.status is not TableStatus.SYNTHESIZED} == {}


def _pair(url: str, store: Path, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = sa.create_engine(url)
    real = pd.read_sql(f"SELECT * FROM {table}", engine).map(lambda v: v.rstrip() if isinstance(v, str) else v)
    engine.dispose()
    with duckdb.connect(str(store), read_only=True) as con:
        return real, con.execute(f'SELECT * FROM public."{table}"').df()


@pytest.fixture(scope="module")
def chinook(pg_server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    url = pg_server.create_database("realism_chinook")
    load(CHINOOK, url)
    store = tmp_path_factory.mktemp("realism") / "chinook.duckdb"
    _synced(url, store, ["public.customer", "public.employee", "public.invoice"])
    return url, store


@pytest.fixture(scope="module")
def demo(pg_demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    store = tmp_path_factory.mktemp("realism") / "demo.duckdb"
    _synced(pg_demo_url, store, ["public.people", "public.orders"])
    return pg_demo_url, store


def _measured(url: str, store: Path, table: str):
    real, synthetic = _pair(url, store, table)
    model = language_model(table_locales(real))
    threshold = gibberish_threshold(real, model)
    return measure(real, model, threshold, real), measure(synthetic, model, threshold, real)


@pytest.mark.parametrize("table", ["customer", "invoice"])
def test_chinook_previews_read_like_the_real_tables(chinook, table: str) -> None:
    real, synthetic = _measured(*chinook, table)
    _assert_believable(real, synthetic)


def test_a_tiny_table_of_people_gets_jobs_not_names_as_titles(chinook) -> None:
    """Chinook's 8 employees: generated column by column, countries real, titles jobs."""
    real, synthetic = _measured(*chinook, "employee")
    assert synthetic.countries == 1.0 and synthetic.phone_country >= 0.9 * real.phone_country
    _, stored = _pair(*chinook, "employee")
    classes = Store(chinook[1]).table("public.employee").classes
    assert classes["title"]["semantic"] != "person_name"  # "Sales Support Agent" is no person's name
    jobs = {fit_text(job, 30) for module in _job_providers() for job in module.Provider.jobs}  # VARCHAR(30)
    assert set(stored["title"].dropna()) <= jobs  # every title of 8 people is rare: each became a job


def _job_providers():
    import importlib
    import pkgutil

    import faker.providers.job as job

    return [importlib.import_module(f"faker.providers.job.{m.name}") for m in pkgutil.iter_modules(job.__path__)]


@pytest.mark.parametrize("table", ["people", "orders"])
def test_demo_previews_read_like_the_real_tables(demo, table: str) -> None:
    real, synthetic = _measured(*demo, table)
    _assert_believable(real, synthetic)


def _assert_believable(real, synthetic) -> None:
    if real.gibberish is not None:
        assert synthetic.gibberish <= real.gibberish + 0.01, (real, synthetic)
    if real.countries is not None:
        assert synthetic.countries == 1.0, synthetic
    for agreement in ("phone_country", "postal_country"):
        if getattr(real, agreement) is not None:
            assert getattr(synthetic, agreement) >= 0.9 * getattr(real, agreement), (agreement, real, synthetic)
    if real.states is not None:
        assert synthetic.states >= 0.9, synthetic
    assert synthetic.float_noise == 0


def test_a_country_and_its_phone_never_disagree(chinook) -> None:
    """The same row: Canada with a +1 number of a Canadian area, Brazil with +55."""
    from catalog_synth.protect.locales import country_of_value, phone_region

    _, synthetic = _pair(*chinook, "customer")
    international = synthetic.dropna(subset=["phone"])
    international = international[international["phone"].str.startswith("+")]
    regions = [phone_region(phone) for phone in international["phone"]]
    countries = [country_of_value(country) for country in international["country"]]
    agree = sum(region == country for region, country in zip(regions, countries))
    assert len(international) > 20 and agree / len(international) >= 0.95


def test_the_measures_can_fail() -> None:
    """Random letters read like no language; float noise is counted."""
    rng = np.random.default_rng(0)
    words = pd.DataFrame({"label": ["Rock", "Jazz", "Blues", "Metal", "Latin", "Reggae", "Classical", "Pop"] * 30})
    letters = pd.DataFrame({"label": ["".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), 7)).title() for _ in range(240)]})
    model = language_model(("en_US",))
    threshold = gibberish_threshold(words, model)
    assert measure(letters, model, threshold, words).gibberish > 0.5
    assert measure(pd.DataFrame({"x": [79.80000000000001, 1.5]}), model, threshold, words).float_noise == 1
    cities = pd.DataFrame({"city": ["Paris", "Lyon", "Sept-Îles"] * 10})  # places: checked as places, not as words
    assert measure(cities, model, threshold, cities).cities == 1.0
    assert measure(letters.rename(columns={"label": "city"}), model, threshold, cities).cities == 0.0
    assert isinstance(model, LanguageModel) and len(short_texts(words)) == 240


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
def test_the_people_preview_page_in_a_browser(demo) -> None:
    """The catalog's preview page of the synthetic people, rendered by headless Chromium and kept
    as a screenshot; it shows synthetic rows and no real person."""
    from playwright.sync_api import sync_playwright

    url, store = demo
    real, _ = _pair(url, store, "people")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "preview-people.png"
    with running_server(create_app(sandbox_config(store))) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=base_url, viewport={"width": 1400, "height": 900})
        page.goto("/tables/public.people")
        page.wait_for_selector("table")
        text = page.inner_text("body")
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert "synthetic" in text.lower()
    preview = Store(store).preview("public.people")
    assert str(preview["email"].iloc[0]) in text
    for column in ("email", "phone", "last_name"):
        assert not {str(v) for v in real[column].dropna()} & {str(v) for v in preview[column]}, column
    assert shot.stat().st_size > 10_000


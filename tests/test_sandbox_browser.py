"""The sandbox page in a real headless Chromium (Debian's chromium package, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sandbox_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    orders_frame,
    people_frame,
    running_server,
    sandbox_config,
    synthetic_table,
    write_store,
)

from catalog_synth.serve.app import create_app

PEOPLE = people_frame(60)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("browser") / "store.duckdb"
    tables = [synthetic_table("public", "people", PEOPLE), synthetic_table("public", "orders", orders_frame(90, 60))]
    write_store(store, tables)
    with running_server(create_app(sandbox_config(store))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page logs (a Content-Security-Policy violation is one)."""
    return []


@pytest.fixture
def page(browser: Browser, base_url: str, console_errors: list[str]) -> Iterator[Page]:
    page = browser.new_page(base_url=base_url)
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    yield page
    page.close()


def run(page: Page, sql: str) -> None:
    page.fill("#sql", sql)
    page.click("#run")


def test_page_lists_tables_and_shows_the_synthetic_banner(page: Page) -> None:
    page.goto("/")
    expect(page.locator(".banner")).to_contain_text("Synthetic data.")
    expect(page.locator("nav.tables")).to_contain_text("public")
    expect(page.locator("button.table-name[data-table='public.people']")).to_be_visible()
    page.click("button.table-name[data-table='public.orders']")
    expect(page.locator("#sql")).to_have_value("SELECT * FROM public.orders LIMIT 100")


def test_query_shows_rows(page: Page, console_errors: list[str]) -> None:
    page.goto("/")
    run(page, "SELECT id, name FROM people WHERE id <= 3 ORDER BY id")
    expect(page.locator("#results tbody tr")).to_have_count(3)
    expect(page.locator("#results thead th")).to_have_text(["id", "name"])
    expect(page.locator("#results tbody tr").first).to_contain_text(PEOPLE.name[0])
    expect(page.locator("#status")).to_contain_text("3 rows")
    expect(page.locator("#error")).to_be_hidden()
    assert console_errors == []


def test_refused_query_shows_its_error_inline(page: Page) -> None:
    page.goto("/")
    run(page, "SELECT * FROM read_csv('/etc/passwd')")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("read_csv() is not allowed")
    expect(page.locator("#results tbody tr")).to_have_count(0)


def test_a_query_that_does_not_parse_says_where_in_words(page: Page) -> None:
    page.goto("/")
    run(page, "SELECT 2 * FROM people")
    expect(page.locator("#error")).to_contain_text("line 1, column 12, at 'FROM': '*' needs a value after it")
    assert "<class" not in page.locator("#error").inner_text()


def test_values_are_shown_as_text_never_as_markup(page: Page) -> None:
    page.goto("/")
    run(page, "SELECT '<img src=x onerror=alert(1)>' AS html")
    expect(page.locator("#results tbody td").first).to_have_text("<img src=x onerror=alert(1)>")
    assert page.locator("#results img").count() == 0


def test_choosing_another_table_clears_the_last_error(page: Page) -> None:
    page.goto("/")
    run(page, "SELECT * FROM read_csv('/etc/passwd')")
    expect(page.locator("#error")).to_be_visible()
    page.click("button.table-name[data-table='public.orders']")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("")
    expect(page.locator("#sql")).to_have_value("SELECT * FROM public.orders LIMIT 100")
    page.click("#run")
    expect(page.locator("#results tbody tr")).to_have_count(90)


def test_at_420_pixels_wide_run_is_on_screen_and_works(browser: Browser, base_url: str) -> None:
    page = browser.new_page(base_url=base_url, viewport={"width": 420, "height": 800})
    try:
        page.goto("/")
        box = page.locator("#run").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 420, box
        run(page, "SELECT * FROM people ORDER BY id LIMIT 5")
        expect(page.locator("#results tbody tr")).to_have_count(5)
        # Wide results scroll inside their box; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
    finally:
        page.close()


def test_api_docs_render_with_no_network(page: Page, base_url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/query")).to_be_visible()
    assert requested and all(url.startswith(base_url) for url in requested), requested


def test_preview_page_shows_the_preview_rows(page: Page) -> None:
    page.goto("/tables/public.people")
    expect(page.locator("h1")).to_have_text("public.people")
    expect(page.locator("table.grid tbody tr")).to_have_count(5)
    expect(page.locator(".banner")).to_contain_text("Synthetic data.")

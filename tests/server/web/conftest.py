"""UI test fixtures: one headless Debian Chromium per test module (Playwright), a fresh browser context
(no cookies) per test, the real server (`live_server`, both databases), and screenshots for review.

Module scope, not session: while Playwright's sync API is open it drives an asyncio loop in the
test thread, which breaks `asyncio.run` in other tests that xdist runs on the same worker; pytest
closes a module's fixtures before the worker moves on to another module."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import READ, WRITE, LiveServer, start_server, stop_server

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = "project:admin"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
ADMIN_PASSWORD = "correct horse battery staple"
TIMEOUT_MS = 30_000  # generous: the machine is shared


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, live_server: LiveServer) -> Iterator[object]:
    """A page in a fresh context (its own cookies) on the live server."""
    context = browser.new_context(base_url=live_server.base_url, accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def new_page(browser: object, live_server: LiveServer) -> Iterator[Callable[[], object]]:
    """More pages, each in its own context (another person, or another tab of the same one via .context)."""
    contexts: list[object] = []

    def make() -> object:
        context = browser.new_context(base_url=live_server.base_url, accept_downloads=True)  # type: ignore[attr-defined]
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()  # type: ignore[attr-defined]


@pytest.fixture
def admin_key(live_server: LiveServer) -> str:
    """A key with every dataset scope and project:admin, in a project of its own."""
    return live_server.new_key(READ, WRITE, ADMIN)[0]


def sign_in(page: object, key: str) -> None:
    page.goto("/signin")  # type: ignore[attr-defined]
    page.get_by_label("API key").fill(key)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in with API key").click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Datasets", exact=True).wait_for()  # type: ignore[attr-defined]


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a')]
  .filter(e => !e.closest('[hidden]') && e.getAttribute('aria-hidden') !== 'true')
  .filter(e => ['BUTTON', 'A'].includes(e.tagName)
      ? !(e.textContent.trim() || e.getAttribute('aria-label'))
      : !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.outerHTML.slice(0, 120))"""


def shot(page: object, server: LiveServer, name: str) -> None:
    """Check that every control of the page has a label or visible name, then save a full-page
    screenshot for reviewers (SQLite runs only: the pages are the same)."""
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.evaluate(UNLABELLED) == []  # type: ignore[attr-defined]
    if server.backend != "sqlite":
        return
    ARTIFACTS.mkdir(exist_ok=True)
    # The whole page, by growing the viewport for the shot: Playwright's full_page screenshots leave
    # headless Chromium's later clicks landing nowhere.
    size = page.viewport_size  # type: ignore[attr-defined]
    height = page.evaluate("document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^a-z0-9-]', '-', name)}.png"))  # type: ignore[attr-defined]
    page.set_viewport_size(size)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server (SQLite) started with an admin password file."""
    directory = tmp_path_factory.mktemp("admin-server")
    password_file = directory / "admin-password"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    url = f"sqlite:///{directory / 'evalset.db'}"
    server = start_server(
        url, directory / "server.log", backend="sqlite", env={"EVALSET_ADMIN_PASSWORD_FILE": str(password_file)}
    )
    yield server
    stop_server(server)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    """On a failed UI test, keep a screenshot of its page under test-artifacts/failures/."""
    report = yield
    if report.when == "call" and report.failed and "page" in getattr(item, "funcargs", {}):
        failures = ARTIFACTS / "failures"
        failures.mkdir(parents=True, exist_ok=True)
        try:
            name = re.sub(r"[^A-Za-z0-9-]", "-", item.name)
            item.funcargs["page"].screenshot(path=str(failures / f"{name}.png"), full_page=True)  # the test is over
        except Exception:  # noqa: BLE001 - the page may be gone; the failure itself is what matters
            pass
    return report

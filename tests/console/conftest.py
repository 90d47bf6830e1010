"""The console in a real Chromium (Debian's), driven by Playwright, on the emulator."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import ARTIFACTS, DESKTOP, find_chromium
from tests.support.emulator import running_emulator
from tests.support.env import emulator_settings


@pytest.fixture(scope="session")
def emulator_base() -> Iterator[str]:
    """The emulator at a fifth of the other tests' pace, so a job's curves grow in view."""
    with running_emulator("--speed", "10") as url:
        yield url


@pytest.fixture
def settings_overrides(emulator):
    """The service pointed at the emulator, syncing and retrying fast."""
    return emulator_settings(emulator, openai_requests_per_minute=60_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    assert executable is not None, "test modules skip when there is no Chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[Any]:
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture
def page(browser: Any, request: Any) -> Iterator[Any]:
    """A fresh browser context (own sessionStorage); dialogs are accepted; page errors fail;
    a failing test leaves a screenshot of the page under test-artifacts/console."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    context = browser.new_context(viewport=DESKTOP)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("dialog", lambda dialog: dialog.accept())
    yield opened
    if getattr(request.node, "failed_call", False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"



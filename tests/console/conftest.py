"""The console in a real Chromium (Debian's), driven by Playwright, on the emulator."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EMULATOR_KEY, start_emulator

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def find_chromium() -> str | None:
    """A Chromium (or Chrome) executable: $FTM_CHROMIUM, Debian's, or one on PATH."""
    named = os.environ.get("FTM_CHROMIUM")
    candidates = [named, "/usr/bin/chromium", *(shutil.which(name) for name in (
        "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


@pytest.fixture(scope="session")
def emulator_base() -> Iterator[str]:
    """The emulator at a fifth of the other tests' pace, so a job's curves grow in view."""
    process, url = start_emulator("--speed", "10")
    yield url
    process.terminate()
    process.wait(5)


@pytest.fixture
def settings_overrides(emulator):
    """The service pointed at the emulator, syncing and retrying fast."""
    return {"openai_base_url": emulator, "openai_api_key": EMULATOR_KEY,
            "openai_retry_base_seconds": 0.01, "sync_interval_running_seconds": 0.05,
            "sync_interval_queued_seconds": 0.05, "openai_requests_per_minute": 60_000}


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


def check_page(page: Any, name: str) -> None:
    """The page shows no unrendered value, fits a phone without sideways scrolling, and is saved
    as a screenshot at desktop and phone width under test-artifacts/console."""
    from playwright.sync_api import expect

    for bad in ("[object ", "undefined", "NaN"):
        expect(page.locator("body")).not_to_contain_text(bad)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    try:
        page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth",
                               timeout=5_000)
    except Exception as error:  # name the widest element in the failure
        widest = page.evaluate("""() => [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
          .map((el) => el.tagName + '#' + el.id + '.' + el.className).slice(0, 5)""")
        raise AssertionError(f"{name} scrolls sideways at 390 px: {widest}") from error
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

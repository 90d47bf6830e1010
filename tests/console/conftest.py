"""The console in a real Chromium (Debian's), driven by Playwright, on the emulator."""

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import EMULATOR_KEY


def find_chromium() -> str | None:
    """A Chromium (or Chrome) executable: $FTM_CHROMIUM, Debian's, or one on PATH."""
    named = os.environ.get("FTM_CHROMIUM")
    candidates = [named, "/usr/bin/chromium", *(shutil.which(name) for name in (
        "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


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
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (own sessionStorage); dialogs are accepted; page errors fail."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("dialog", lambda dialog: dialog.accept())
    yield opened
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"

"""A real Chromium for the console tests: where to find it, and checking a page as shown."""

import os
import shutil
from typing import Any

from tests.support.env import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "console"


DESKTOP = {"width": 1400, "height": 900}


PHONE = {"width": 390, "height": 844}


def find_chromium() -> str | None:
    """A Chromium (or Chrome) executable: $FTM_CHROMIUM, Debian's, or one on PATH."""
    named = os.environ.get("FTM_CHROMIUM")
    candidates = [named, "/usr/bin/chromium", *(shutil.which(name) for name in (
        "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


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

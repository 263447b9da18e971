"""A headless Chromium driven by Playwright, for tests that look at the Dagster UI the way a user does.

It uses the system's Chromium (Debian: `apt-get install -y chromium`), never Playwright's own browser download.
Without Chromium or the playwright package the browser tests skip and say how to enable them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # git-ignored; screenshots land here
VIEWPORT = {"width": 1500, "height": 960}
# How long a page may take to show what a test waits for. Playwright's default (5 s) is too short for a 2-core
# machine that also runs the webserver, its code server, a run worker and another pytest worker; this is a bound
# against a hang, not a speed claim: a passing wait returns as soon as the page shows the state.
UI_TIMEOUT_MS = 90_000
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOW_TO_ENABLE = (
    "the browser test needs Chromium and Playwright's Python package: install Chromium "
    "(`sudo apt-get install -y chromium` on Debian/Ubuntu, or set SPARKIFY_CHROMIUM to a Chromium binary) and "
    "`pip install -e '.[dev]'` (Playwright's own browser download is not needed)"
)


def chromium_executable() -> str | None:
    candidates = (
        os.environ.get("SPARKIFY_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (playwright Browser), or a skip that says what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(f"playwright is not installed: {HOW_TO_ENABLE}")
    executable = chromium_executable()
    if executable is None:
        pytest.skip(f"no Chromium found: {HOW_TO_ENABLE}")
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.screenshot(path=str(path))
    return path

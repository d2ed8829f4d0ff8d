"""The page tests' browser: Debian's Chromium, installed on first use where it is missing."""

import pytest
from browser import BrowserUnavailable, find_or_install_chromium


@pytest.fixture(scope="session")
def chromium():
    """The path of a Chromium to drive; skips (saying why) when none can be had here."""
    try:
        return find_or_install_chromium()
    except BrowserUnavailable as exc:
        pytest.skip(f"no headless Chromium for the page tests: {exc}")

"""Debian's chromium under Playwright, for the browser tests and the screenshots.

Playwright never downloads a browser here; it drives `/usr/bin/chromium` (the
`chromium` package, which `make test` installs when missing). The flags keep a
headless chromium from reaching for the network on its own (component updates,
sync, background requests), which a closed machine refuses, and let it run as root.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def chromium_launch(playwright: Any) -> Any:
    """A headless Debian chromium from a started `sync_playwright()`."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
    )

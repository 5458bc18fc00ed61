"""One home for driving Debian's Chromium through Playwright in the kiosk's and central's browser tests:
the same binary, flags, window size and screenshot folder for every screen, so a change to one is a change
to all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
# `make screenshots` sets this to docs/screenshots to refresh the README's pictures; a plain test run keeps
# its screenshots out of the tree.
SCREENSHOTS = Path(os.environ.get("KIOSK_SCREENSHOTS_DIR", tempfile.gettempdir() + "/kiosk-screenshots"))
VIEWPORT = {"width": 1280, "height": 800}


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """A headless Chromium for the block's length, closed even when a test fails inside it."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def new_page(browser: Browser) -> Page:
    """A fresh page at the screens' size (the kiosk's and central's pictures are all taken at it)."""
    return await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]


async def new_context(browser: Browser) -> BrowserContext:
    """A fresh context (own cookies) at the screens' size."""
    return await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]


async def screenshot(page: Page, name: str, **options: Any) -> None:
    """Save the page as `name` under SCREENSHOTS, creating the folder on first use."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / name), **options)


async def shared_colour(page: Page, name: str) -> str:
    """A colour variable as the page computed it: set by webauth/static/base.css, which both apps serve."""
    script = f"getComputedStyle(document.documentElement).getPropertyValue('--{name}').trim()"
    return str(await page.evaluate(script))

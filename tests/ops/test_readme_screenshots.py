"""README.md shows or links every picture in docs/screenshots, and each one it names is there: a new
screenshot is not left unlisted, a renamed one not left as a broken link."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_names_every_screenshot_and_each_it_names_exists() -> None:
    named = set(re.findall(r"\(docs/screenshots/([^)]+)\)", (ROOT / "README.md").read_text()))
    on_disk = {path.name for path in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert named, "README names no screenshot"
    assert not named - on_disk, f"README names missing screenshots: {sorted(named - on_disk)}"
    assert not on_disk - named, f"list these in README.md beside the others: {sorted(on_disk - named)}"

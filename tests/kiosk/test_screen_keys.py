"""Every word key the screen asks for (index.html's data-i18n, a literal t("key") in the scripts) is in
edge/kiosk/i18n.py, in Vietnamese and in English: a key missing there would show as the key itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.kiosk.i18n import strings

STATIC = Path(__file__).resolve().parents[2] / "edge" / "kiosk" / "static"


def screen_keys() -> list[str]:
    keys = set(re.findall(r'data-i18n="([a-z_A-Z0-9]+)"', (STATIC / "index.html").read_text()))
    for script in STATIC.glob("*.js"):
        keys.update(re.findall(r'\bt\("([a-z_A-Z0-9]+)"\)', script.read_text()))
    return sorted(keys)


def test_the_scan_finds_the_screens_keys() -> None:
    keys = screen_keys()
    assert {"result_left", "ending", "refusal_invalid_input", "sync_alarm_other", "done"} <= set(keys)


@pytest.mark.parametrize("key", screen_keys())
def test_each_key_the_screen_asks_for_has_words_in_both_languages(key: str) -> None:
    vi, en = strings("vi"), strings("en")
    assert key in vi, f"{key}: add it to edge/kiosk/i18n.py"
    assert isinstance(vi[key], str)
    assert isinstance(en[key], str)
    assert vi[key]
    assert en[key]

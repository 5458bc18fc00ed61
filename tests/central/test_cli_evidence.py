"""`gate-central run`'s evidence options: a wrong key file is refused naming the file and the gate, with
no traceback; a good one (keys inline or from the environment) gives the screen its evidence desk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from central.cli import build_parser
from central.cli_evidence import desk_from, load_keys
from central.settings import CentralSettings
from sync.config import BrokerConfig
from tests.sync.conftest import REPO

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("{not json", "not JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "naming at least one gate"),
        ('{"g/1": "' + KEY + '"}', "'g/1': not a gate id"),
        ('{"g1": 5}', "g1: the key must be a string"),
        ('{"g1": "short"}', "g1: a command key has at least 16 characters"),
        ('{"g1": "${EVIDENCE_TEST_UNSET}"}', "g1: environment variable EVIDENCE_TEST_UNSET is not set"),
    ],
)
def test_a_wrong_key_file_is_refused_naming_what_is_wrong(tmp_path: Path, content: str, named: str) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(content)
    with pytest.raises(SystemExit) as refused:
        load_keys(keys)
    assert f"--evidence-keys {keys}" in str(refused.value)
    assert named in str(refused.value)


def test_keys_come_inline_or_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("G2_COMMAND_KEY", KEY[::-1])
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"g1": KEY, "g2": "${G2_COMMAND_KEY}"}))
    assert load_keys(keys) == {"g1": KEY, "g2": KEY[::-1]}
    args = build_parser().parse_args(["run", "--db", str(tmp_path / "c.db"), "--evidence-keys", str(keys)])
    settings = CentralSettings(broker=BrokerConfig(), db_path=tmp_path / "c.db")
    desk = desk_from(args, settings)
    assert desk is not None
    assert desk.folder == tmp_path / "evidence"
    assert desk_from(build_parser().parse_args(["run"]), settings) is None


def test_run_with_a_missing_key_file_exits_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "central",
            "run",
            "--create",
            "--db",
            str(tmp_path / "central.db"),
            "--http",
            "127.0.0.1:0",
            "--evidence-keys",
            str(tmp_path / "missing.json"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"--evidence-keys {tmp_path / 'missing.json'}: cannot read it" in done.stderr

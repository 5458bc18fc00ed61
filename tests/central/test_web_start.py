"""Starting the central screen: a bad or busy address is one clear line; webauth knows neither side."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from central.settings import CentralSettings
from central.web.serve import serve_screen
from sync.config import BrokerConfig
from tests.central.screen_gates import free_port
from tests.central.test_import_graph import REPO, _imports
from tests.central.test_web_api import central_cli
from tests.sync.broker import Mosquitto


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("8090", "central: --http '8090': expected HOST:PORT, e.g. 127.0.0.1:8090"),
        ("127.0.0.1:99999", "central: --http '127.0.0.1:99999': expected HOST:PORT, e.g. 127.0.0.1:8090"),
        ("127.0.0.1:http", "central: --http '127.0.0.1:http': expected HOST:PORT, e.g. 127.0.0.1:8090"),
    ],
)
def test_a_malformed_listen_address_is_refused_naming_it(tmp_path: Path, listen: str, message: str) -> None:
    settings = CentralSettings(broker=BrokerConfig(), db_path=tmp_path / "central.db")
    with pytest.raises(SystemExit) as refused:
        serve_screen(listen, settings)
    assert str(refused.value) == message


def test_a_busy_port_is_one_clear_error_not_a_traceback(tmp_path: Path) -> None:
    settings = CentralSettings(broker=BrokerConfig(), db_path=tmp_path / "central.db")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as refused:
            serve_screen(f"127.0.0.1:{port}", settings)
    assert (
        str(refused.value)
        == f"central: central screen could not listen on 127.0.0.1:{port} (see the log above)"
    )


def test_webauth_imports_neither_the_gate_nor_central() -> None:
    wrong = []
    for path in sorted((REPO / "webauth").rglob("*.py")):
        for module, _top in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.split(".")[0] in ("edge", "central", "devices", "vision", "sync"):
                wrong.append(f"{path.relative_to(REPO)}: {module}")
    assert wrong == []
    assert len(list((REPO / "webauth").glob("*.py"))) >= 6  # the scan saw the package


def test_gate_central_run_http_serves_the_screen_beside_the_receiver_and_stops_cleanly(
    tmp_path: Path, broker: Mosquitto
) -> None:
    db, port = tmp_path / "central.db", free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "central",
            "run",
            "--create",
            "--db",
            str(db),
            "--port",
            str(broker.port),
            "--http",
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        assert run.stdout.readline().startswith("central central-1: receiving")  # the screen listens first
        added = central_cli(
            "user",
            "add",
            "--name",
            "ada",
            "--role",
            "admin",
            "--password-stdin",
            "--db",
            str(db),
            stdin="admin-pass-1\n",
        )
        assert added.returncode == 0, added.stderr
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/login", json={"name": "ada", "password": "admin-pass-1"}
        )
        assert login.json()["role"] == "admin"
        gates = httpx.get(f"http://127.0.0.1:{port}/api/v1/gates", cookies=login.cookies)
        assert gates.json() == []
    finally:
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=20)
    assert run.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err

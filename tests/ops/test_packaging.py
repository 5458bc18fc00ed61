"""`python -m build` makes a wheel that carries what a gate box needs, and that wheel alone runs the demo.

The build runs on a copy of the source tree (so it leaves no build/ or egg-info in the checkout, and so
a probe asset can be added): sdist first, then the wheel from the sdist, as `python -m build` does, so
a file missing from either is caught.

Installing: a fresh venv (no pip, no site packages), the wheel installed into it with ``--no-deps``, and
the *dependencies* borrowed from the test environment through a ``.pth`` line naming its site-packages.
That keeps the test offline and fast (no resolver, no downloads) and still proves the point, because:
- path lines of a ``.pth`` are appended to sys.path without processing the ``.pth`` files found there,
  so the checkout's editable install (an import hook in a ``.pth``) is *not* active in the new venv;
  a control step shows ``import edge`` failing before the wheel is installed;
- the demo runs with cwd in a temporary directory and a scrubbed environment, so neither the checkout
  nor $PYTHONPATH is on sys.path;
- a probe ``.pth`` in the new venv records, at exit of the real ``gate-edge`` process, the file of every
  project module it imported: all must come from the venv;
- the demo reads its configuration from the example the wheel installed under share/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from devices.sim.net import free_tcp_port

REPO = Path(__file__).resolve().parents[2]
TREE = (
    "pyproject.toml",
    "README.md",
    "edge",
    "devices",
    "vision",
    "sync",
    "pacing",
    "central",
    "webauth",
    "config",
    "systemd",
    "docs",
)
PROBE_ASSETS = ("index.html", "app.css", "app.js", "font.woff2", "icon.svg")
SHARE = "share/border-gate-edge"
PROJECT_PACKAGES = ("edge", "devices", "vision", "sync", "pacing", "central", "webauth")
# Written into the new venv: at exit, where every project module of this process came from, one file per
# process (the daemon runs its lane in a process of its own).
# (A .pth line runs under exec() with its own locals: the callback must import what it uses.)
PROBE_PTH = (
    "import atexit; atexit.register(lambda: __import__('os').environ.get('GATE_EDGE_PROBE') and "
    "__import__('pathlib').Path(__import__('os').environ['GATE_EDGE_PROBE'] + '.' "
    "+ str(__import__('os').getpid())).write_text("
    "__import__('json').dumps({n: getattr(m, '__file__', None) "
    "for n, m in list(__import__('sys').modules.items()) if n.split('.')[0] in "
    f"{PROJECT_PACKAGES!r}}})))\n"
)


def kiosk_assets() -> list[str]:
    """The kiosk's web assets in the checkout, as wheel paths."""
    static = REPO / "edge" / "kiosk" / "static"
    if not static.is_dir():
        return []
    return sorted(
        p.relative_to(REPO).as_posix()
        for p in static.rglob("*")
        if p.is_file() and p.suffix in {".html", ".css", ".js"}
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in TREE:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    probe = src / "edge" / "kiosk" / "static" / "ops-probe"
    probe.mkdir(parents=True)
    for name in PROBE_ASSETS:
        (probe / name).write_text(f"/* {name} */\n", encoding="utf-8")
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(src)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = dist.glob("*.whl")
    assert list(dist.glob("*.tar.gz")), "python -m build made no sdist"
    return built


def test_the_wheel_carries_kiosk_assets_config_examples_units_and_the_deploy_guide(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"border_gate_edge-0.1.0.data/data/{SHARE}"

    expected = {f"edge/kiosk/static/ops-probe/{name}" for name in PROBE_ASSETS}  # any type, any depth
    expected |= set(kiosk_assets())
    expected |= {f"{data}/config/{p.name}" for p in (REPO / "config").glob("*.yaml")}
    expected |= {
        f"{data}/systemd/gate-edge.service",
        f"{data}/systemd/sysusers.d/gate-edge.conf",
        f"{data}/systemd/tmpfiles.d/gate-edge.conf",
        f"{data}/doc/deploy.md",
        "edge/cli/__init__.py",
        "edge/demo/runner.py",
        "devices/sim/lane_controller.py",
        "pacing/backoff.py",
        "webauth/sessions.py",
        "central/web/static/index.html",
        "central/web/static/central.js",
        "central/web/static/words.js",
        "central/web/static/central.css",
        "webauth/static/base.css",
    }
    # The plate reader a fresh install runs offline, with its licence and provenance beside it.
    expected |= {
        f"vision/models/plate_reader/{p.name}" for p in (REPO / "vision/models/plate_reader").iterdir()
    }
    assert {
        "vision/models/plate_reader/cct_xs_v1_global.onnx",
        "vision/models/plate_reader/LICENSE",
    } <= expected
    assert expected - names == set()
    assert f"{data}/config/example-site.yaml" in names
    entry_points = zipfile.ZipFile(wheel).read("border_gate_edge-0.1.0.dist-info/entry_points.txt").decode()
    assert "gate-edge = edge.cli:main" in entry_points


def fresh_venv(path: Path) -> Path:
    """A venv with no pip and no project, whose dependencies come from this environment; its site dir."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=60)
    probe = [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    site = Path(subprocess.run(probe, capture_output=True, text=True, check=True, timeout=30).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    (site / "_test_probe.pth").write_text(PROBE_PTH, encoding="utf-8")
    return site


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_installed_wheel_runs_the_demo_from_its_own_files(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    site = fresh_venv(venv)
    python, gate_edge, share = str(venv / "bin" / "python"), str(venv / "bin" / "gate-edge"), venv / SHARE
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"

    control = run([python, "-c", "import edge"], run_dir, env)
    assert control.returncode != 0, "the project imports without the wheel: the test would prove nothing"
    assert "No module named 'edge'" in control.stderr

    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=120)
    demo_config = yaml.safe_load((share / "config" / "demo.yaml").read_text(encoding="utf-8"))
    demo_config["devices"]["io"]["port"] = free_tcp_port()  # the shipped 5020 may be in use on this machine
    (run_dir / "demo.yaml").write_text(yaml.safe_dump(demo_config), encoding="utf-8")
    modules_file = tmp_path / "modules.json"

    site_check = run([gate_edge, "check-config", str(share / "config" / "example-site.yaml")], run_dir, env)
    demo = run(
        [gate_edge, "demo", "--vehicles", "1", "--config", "demo.yaml", "--db", "gate.db"],
        run_dir,
        {**env, "GATE_EDGE_PROBE": str(modules_file)},
    )

    assert site_check.returncode == 0, site_check.stderr
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "demo: 1 vehicles decided, 1 as the scenario expected" in demo.stdout
    assert (run_dir / "gate.db").exists()
    modules: dict[str, str | None] = {}
    for found in tmp_path.glob(modules_file.name + ".*"):
        modules.update(json.loads(found.read_text(encoding="utf-8")))
    assert "edge.lane_core" in modules  # the lane process ran from the installed files too
    assert {"edge.cli", "edge.daemon", "edge.demo.runner", "devices.sim.lane_controller"} <= modules.keys()
    outside = {name: path for name, path in modules.items() if path and not path.startswith(str(site))}
    assert outside == {}

"""Serving the central screen with uvicorn on a thread of its own, beside the receiver.

The receiver stores on paho's thread; the screen runs its own event loop here, and its reads run on its
own database thread, so no web request can hold up ingest. Signals stay with `gate-central run`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Generator

import uvicorn

from central.evidence import EvidenceDesk
from central.metrics import CentralMetrics
from central.settings import CentralSettings, open_store
from central.store import CentralStore
from central.web.app import create_app
from central.web.database import Opener
from central.web.settings import WebSettings, parse_listen

log = logging.getLogger("central.web")
START_TIMEOUT_S = 10.0


class ScreenStartError(Exception):
    """The screen could not listen (address in use, bad host)."""


class _ThreadServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the command's own handlers stop everything


class ScreenServer:
    """The screen on ``settings.host:port``; :meth:`start` returns once it listens, :meth:`stop` ends it."""

    def __init__(self, opener: Opener, settings: WebSettings, evidence: EvidenceDesk | None = None) -> None:
        self.settings = settings
        self.app = create_app(opener, settings)
        self.app.state.evidence_desk = self.evidence = evidence  # None: the button says it is not set up
        config = uvicorn.Config(
            self.app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(target=self._run, name="central-web", daemon=True)
        self._failed: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run()
        except SystemExit as exc:  # uvicorn's answer to a failed bind
            self._failed = exc

    def start(self) -> None:
        if self.evidence is not None:
            self.evidence.start()
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive() or waited > START_TIMEOUT_S:
                raise ScreenStartError(
                    f"central screen could not listen on {self.settings.host}:{self.settings.port}"
                    " (see the log above)"
                )
            self._thread.join(0.05)
            waited += 0.05
        log.info("central screen on http://%s:%d", self.settings.host, self.settings.port)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        if self.evidence is not None:
            self.evidence.stop()


def serve_screen(listen: str, central: CentralSettings, evidence: EvidenceDesk | None = None) -> ScreenServer:
    """`gate-central run --http HOST:PORT`: the screen on central's database, started; SystemExit if not."""
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise SystemExit(f"central: {exc}") from None

    def opener() -> CentralStore:
        name = f"{central.name}-web"
        return open_store(db_path=central.db_path, db_url=central.db_url, name=name, mode="open")

    server = ScreenServer(opener, WebSettings(host=host, port=port), evidence)
    server.app.state.central_metrics = CentralMetrics(central.topic_prefix)
    try:
        server.start()
    except ScreenStartError as exc:
        raise SystemExit(f"central: {exc}") from None
    return server

"""A stand-in for customs' clearance system: a real HTTP server that checks what central sends it.

Each POST must carry a valid Ed25519 signature of its exact body by a trusted key, an Idempotency-Key equal
to the body's confirmation_id, and a body the ExitConfirmation model (the JSON Schema's source) accepts.
It de-duplicates on the id as a real receiver must, and keeps every attempt, so a test can tell a
redelivery under the same id (allowed, same body) from a twin (never). It can go down and come back on
the same port, answer with a chosen status, or refuse some declarations.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from central.confirm_delivery import IDEMPOTENCY_HEADER, KEY_ID_HEADER, SIGNATURE_HEADER
from central.confirmations import ExitConfirmation
from sync.signing_keys import verify_signature

MAX_BODY = 64 * 1024


@dataclass
class Received:
    """What the receiver saw: accepted bodies by id, every attempt, and what it refused and why."""

    accepted: dict[str, bytes] = field(default_factory=dict)
    attempts: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    changed_bodies: list[str] = field(default_factory=list)  # an id resent with other bytes: never


class ConfirmationReceiver:
    """The clearance system's endpoint on 127.0.0.1:``port``; :meth:`start` / :meth:`stop` at will."""

    def __init__(
        self, trusted: dict[str, Ed25519PublicKey], port: int = 0, tls: tuple[Path, Path] | None = None
    ) -> None:
        self.trusted = trusted
        self.port = port
        self.tls = tls  # (certificate, key): https, as in production
        self.seen = Received()
        self.lock = threading.Lock()
        self.status_override: int | None = None  # answer every POST with this (e.g. 503) instead
        self.refuse_declarations: set[str] = set()  # answered 422
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/confirmations"

    def start(self) -> ConfirmationReceiver:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: the port refuses connections until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)

    def delivered_ids(self) -> set[str]:
        with self.lock:
            return set(self.seen.accepted)

    def answer(self, headers: Any, body: bytes) -> tuple[int, str]:
        """Check one POST; the status and a short reason."""
        signature = headers.get(SIGNATURE_HEADER, "")
        key = self.trusted.get(headers.get(KEY_ID_HEADER, ""))
        if key is None or not verify_signature(key, signature, body):
            return self._refuse(401, "bad or missing signature")
        try:
            confirmation = ExitConfirmation.model_validate_json(body)
        except ValueError as exc:
            return self._refuse(400, f"not a confirmation: {exc}")
        cid = str(confirmation.confirmation_id)
        if headers.get(IDEMPOTENCY_HEADER) != cid:
            return self._refuse(400, "Idempotency-Key is not the confirmation_id")
        with self.lock:
            self.seen.attempts.append(cid)
            if self.status_override is not None:
                return self.status_override, "told to"
            if confirmation.declaration_number in self.refuse_declarations:
                return 422, f"unknown declaration {confirmation.declaration_number}"
            if cid in self.seen.accepted:
                if self.seen.accepted[cid] != body:
                    self.seen.changed_bodies.append(cid)
                return 200, "already have it"
            self.seen.accepted[cid] = body
        return 201, "recorded"

    def _refuse(self, status: int, why: str) -> tuple[int, str]:
        with self.lock:
            self.seen.refused.append(why)
        return status, why


def _handler(receiver: ConfirmationReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(length, MAX_BODY))
            status, why = receiver.answer(self.headers, body)
            data = json.dumps({"status": status, "detail": why}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests assert on what was received."""

    return Handler

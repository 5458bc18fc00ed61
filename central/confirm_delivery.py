"""Delivers exit confirmations to the clearance system over HTTP: signed, retried until acknowledged.

One thread per central instance, with its own database connection; the receiver only wakes it, so a slow
or absent endpoint never delays storing events. Each attempt first claims its row in the database, so
instances sharing one database never send one confirmation at the same time; the rows survive restarts, so
delivery is at least once, always under the confirmation's own id (in the body and as ``Idempotency-Key``),
with the same bytes: the receiver de-duplicates on the id.

Outcomes: 2xx acknowledged (delivered); 408, 429, 3xx, 5xx, a timeout or no connection: tried again after
:class:`pacing.backoff.Backoff`'s delay (the whole sender waits, the endpoint being down); any other 4xx:
rejected, kept and listed by `gate-central confirmations`, never retried on its own
(`gate-central confirmations --retry ID` sends it again).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from central import confirmation_store as cstore
from central.confirm_settings import ConfirmationSettings
from central.sql_store import SqlCentralStore
from central.store import CentralStore, MessageUnstorable, StoreUnavailable
from pacing.backoff import Backoff
from sync.outbox import utc_now
from sync.signing_keys import SigningKey

if TYPE_CHECKING:
    from central.settings import CentralSettings

log = logging.getLogger("central.confirm_delivery")

KEY_ID_HEADER = "X-Signature-Key-Id"
SIGNATURE_HEADER = "X-Signature-Ed25519"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RESPONSE_BYTES = 2048  # read of an answer's body, for the error message only
RETRIED_4XX = (408, 429)
ATTEMPT_TIMEOUTS = 2  # an attempt ends after this many timeouts in all, however slowly the answer drips


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to; ``retry_after_s`` from a 429/503's Retry-After."""

    kind: Literal["acknowledged", "rejected", "retry"]
    status: int | None
    detail: str
    retry_after_s: float | None = None


def signed_headers(body: bytes, key: SigningKey, confirmation_id: str) -> dict[str, str]:
    """The request's headers: JSON, the id to de-duplicate on, the key id and the body's signature."""
    return {
        "Content-Type": "application/json",
        IDEMPOTENCY_HEADER: confirmation_id,
        KEY_ID_HEADER: key.key_id,
        SIGNATURE_HEADER: key.sign(body),
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not an acknowledgement: it is answered as the 3xx it is (retried, and logged)."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def _retry_after(value: str | None, cap: float) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), cap)


def classify(status: int, detail: str, retry_after: str | None, cap: float) -> Outcome:
    """The outcome of an HTTP answer ``status`` (see the module docstring)."""
    if 200 <= status < 300:
        return Outcome("acknowledged", status, detail)
    if 400 <= status < 500 and status not in RETRIED_4XX:
        return Outcome("rejected", status, detail)
    return Outcome("retry", status, detail, _retry_after(retry_after, cap))


class _Connections:
    """The connections one attempt opened, so its deadline can cut them (urllib's timeout is per read)."""

    def __init__(self) -> None:
        self.opened: list[http.client.HTTPConnection] = []
        self.cut = False

    def recording(self, http_class: type[http.client.HTTPConnection]) -> Any:
        def make(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
            connection = http_class(*args, **kwargs)
            self.opened.append(connection)
            return connection

        return make

    def cut_all(self) -> None:
        self.cut = True
        for connection in list(self.opened):
            if connection.sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    connection.sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once


class _RecordingHandler(urllib.request.AbstractHTTPHandler):
    """http(s) handler that lets the current attempt's :class:`_Connections` see each connection."""

    connections: _Connections | None = None

    def do_open(self, http_class: Any, req: urllib.request.Request, **kwargs: Any) -> Any:
        wrapped = http_class if self.connections is None else self.connections.recording(http_class)
        return super().do_open(wrapped, req, **kwargs)


class _RecordingHTTP(_RecordingHandler, urllib.request.HTTPHandler):
    pass


class _RecordingHTTPS(_RecordingHandler, urllib.request.HTTPSHandler):
    pass


class HttpPoster:
    """POSTs one body to the endpoint with bounded timeouts; never raises for the network's sake.

    ``timeout_s`` bounds each step (connect, send, each read); the whole attempt ends after
    ``ATTEMPT_TIMEOUTS`` times it, so an answer dripped a byte at a time cannot hold the sender (and every
    confirmation behind this one) beyond its claim on the row.
    """

    def __init__(self, settings: ConfirmationSettings) -> None:
        self.settings = settings
        ca = settings.ca_file
        context = None if ca is None else ssl.create_default_context(cafile=str(ca))
        self._handlers: tuple[_RecordingHandler, ...] = (_RecordingHTTP(), _RecordingHTTPS(context=context))
        self._opener = urllib.request.build_opener(_NoRedirect(), *self._handlers)

    def post(self, body: bytes, headers: dict[str, str]) -> Outcome:
        connections = _Connections()
        for handler in self._handlers:
            handler.connections = connections
        deadline_s = self.settings.timeout_s * ATTEMPT_TIMEOUTS
        timer = threading.Timer(deadline_s, connections.cut_all)
        timer.daemon = True
        timer.start()
        try:
            outcome = self._post(body, headers)
        finally:
            timer.cancel()
            for handler in self._handlers:
                handler.connections = None
        if connections.cut and outcome.kind == "retry":
            return Outcome("retry", outcome.status, f"no whole answer within {deadline_s:g} s")
        return outcome

    def _post(self, body: bytes, headers: dict[str, str]) -> Outcome:
        s = self.settings
        request = urllib.request.Request(s.endpoint, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only (settings)
        try:
            with self._opener.open(request, timeout=s.timeout_s) as response:
                try:
                    answer = response.read(RESPONSE_BYTES).decode("utf-8", "replace")
                except (OSError, http.client.HTTPException):  # the status said it: the body is for logs
                    answer = ""
                return classify(response.status, answer, None, s.retry_max_s)
        except urllib.error.HTTPError as exc:
            try:
                answer = exc.read(RESPONSE_BYTES).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                answer = ""
            finally:
                exc.close()
            moved = exc.headers.get("Location") if 300 <= exc.code < 400 else None
            where = f" to {moved[:200]!r} (not followed)" if moved else ""
            return classify(
                exc.code, f"HTTP {exc.code}{where}: {answer}", exc.headers.get("Retry-After"), s.retry_max_s
            )
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # refused, timed out, TLS, or an answer that is not HTTP (a bad status line, a header too long)
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            return Outcome("retry", None, f"{type(exc).__name__}: {reason}")


class ConfirmationSender:
    """The delivery thread of one central instance: :meth:`start`, :meth:`wake` on new exits, :meth:`stop`."""

    def __init__(
        self,
        settings: ConfirmationSettings,
        key: SigningKey,
        open_store: Callable[[], CentralStore],
        *,
        name: str = "central",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._key = key
        self._open_store = open_store
        self._name = name
        self._clock = clock
        self._poster = HttpPoster(settings)
        self._backoff = Backoff(settings.retry_min_s, settings.retry_max_s, jitter=(0.5, 1.0))
        self._store: SqlCentralStore | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0  # counts, for logs and tests
        self.rejected = 0
        self.failed_attempts = 0

    def start(self) -> None:
        if self.settings.endpoint.startswith("http:"):
            log.warning(
                "%s: confirmations go to %s over plain http (allowed)", self._name, self.settings.endpoint
            )
        self._thread = threading.Thread(target=self._loop, name=f"{self._name}-confirmations", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A confirmation was recorded: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """End the thread after its current attempt (at most the endpoint timeout); close its connection."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.settings.timeout_s + 5 if timeout is None else timeout)
        self._drop_store()

    # -- the thread ----------------------------------------------------------------------------
    def _loop(self) -> None:
        """Deliver until stopped; a database outage or a bug waits and tries again, never ends the thread."""
        store_backoff = Backoff(0.2, 5.0, jitter=(0.5, 1.0))
        while not self._stopping.is_set():
            try:
                wait = self._round()
                store_backoff.reset()
            except (StoreUnavailable, MessageUnstorable) as exc:
                self._drop_store()
                wait = store_backoff.next()
                log.error("%s: confirmations: database: %s; again in %.1f s", self._name, exc, wait)
            except Exception:  # a bug must not end delivery unseen: log it and keep going
                self._drop_store()
                wait = store_backoff.next()
                log.exception("%s: confirmations: delivery round failed; again in %.1f s", self._name, wait)
            if wait is None:  # nothing due: sleep until woken or the next poll
                self._wake.wait(self.settings.poll_s)
                self._wake.clear()
            elif wait > 0:
                self._stopping.wait(wait)

    def _db(self) -> SqlCentralStore:
        if self._store is None:
            store = self._open_store()
            if not isinstance(store, SqlCentralStore):
                raise TypeError(f"confirmations need central's SQL store, not {type(store).__name__}")
            self._store = store
        return self._store

    def _drop_store(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            except Exception:  # closing a broken connection: nothing left to do with it
                log.debug("%s: closing the confirmations connection failed", self._name, exc_info=True)
            self._store = None

    def _round(self) -> float | None:
        """Try the due confirmations; None: none were due; else seconds to wait (0: look again at once)."""
        store = self._db()
        due = cstore.due(store, self._clock(), self.settings.batch)
        if not due:
            return None
        for confirmation, body in due:
            if self._stopping.is_set():
                return 0
            pause = self._attempt(store, confirmation, body)
            if pause is not None:
                return pause
        return 0

    def _attempt(self, store: SqlCentralStore, confirmation: str, body: bytes) -> float | None:
        """One attempt at one confirmation; a delay when the endpoint failed (the round stops), else None."""
        now = self._clock()
        hold = timedelta(seconds=self.settings.timeout_s * 3 + 5)  # past the attempt's longest end
        if not cstore.claim(store, confirmation, now, now + hold):
            return None  # another instance has it
        outcome = self._poster.post(body, signed_headers(body, self._key, confirmation))
        if outcome.kind == "acknowledged":
            cstore.mark_delivered(store, confirmation, outcome.status or 200, self._clock())
            self._backoff.reset()
            self.delivered += 1
            log.info("%s: confirmation %s acknowledged (%s)", self._name, confirmation, outcome.status)
            return None
        if outcome.kind == "rejected":
            cstore.mark_rejected(store, confirmation, outcome.status or 0, outcome.detail)
            self.rejected += 1
            log.error(
                "%s: confirmation %s rejected by the clearance system: %s",
                self._name,
                confirmation,
                outcome.detail[:200],
            )
            return None
        delay = max(self._backoff.next(), outcome.retry_after_s or 0.0)
        cstore.retry_later(
            store, confirmation, self._clock() + timedelta(seconds=delay), outcome.status, outcome.detail
        )
        self.failed_attempts += 1
        log.warning(
            "%s: confirmation %s not delivered (%s); trying again in %.1f s",
            self._name,
            confirmation,
            outcome.detail[:200],
            delay,
        )
        return delay


def sender_for(
    settings: CentralSettings, open_store: Callable[[], CentralStore]
) -> ConfirmationSender | None:
    """The delivery thread central's settings ask for (not started), or None when no endpoint is set."""
    if settings.confirmations is None:
        return None
    if (
        settings.signing_key is None
    ):  # CentralSettings refuses this; kept for a caller that builds one by hand
        raise ValueError("confirmations are signed: central needs a signing key to send them")
    return ConfirmationSender(settings.confirmations, settings.signing_key, open_store, name=settings.name)

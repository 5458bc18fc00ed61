"""The lane loop in a process of its own, so nothing else in the daemon can delay it, not even for the GIL.

A thread would isolate the lane from a blocked event loop, not from a busy interpreter: a flood of web
requests, MQTT messages and recognition work in the same process took the lane's timer up to 200 ms late
(`benchmarks/bench_lane_lag.py`). The child runs `LaneCore` alone; the parent keeps a `Mirror` of it
(the last `LaneStatus`, device health, counters, liveness) and exchanges plain data with it over one pipe:
offers in, `LaneMessage`s and log records out. The child dies with the parent (PR_SET_PDEATHSIG), and the
I/O controller's watchdog makes its outputs safe when either is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ctypes
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from devices.modbus_io import IOStats
from devices.scale.reading import FrameStats
from edge.config import GateConfig
from edge.lane_core import LANE_LOOP_MAX_AGE_S, MAX_EXTERNAL_PENDING, LaneBusy, LaneCore
from edge.lane_events import LaneEvent, OfficerApproved, OfficerCorrected, OfficerRejected
from edge.lane_health import DeviceHealth
from edge.lane_messages import AlarmRaised, LaneMessage, OfficerApplied
from edge.lane_status import LaneStatus

log = logging.getLogger("edge.lane_process")

MIRROR_EVERY_S = 0.1  # how often the child reports its status when nothing else happens
LAG_EVERY_S = 1.0  # how often it adds its lag figures (a summary sorts up to 20,000 samples)
#: No word from the child for this long: it is stuck or gone (it reports every MIRROR_EVERY_S).
SILENT_S = 5.0


@dataclass(frozen=True, slots=True)
class Mirror:
    """The child's lane as of one moment: what the parent shows and checks without asking."""

    view: LaneStatus
    health: DeviceHealth
    light: str | None
    io_stats: IOStats
    io_link_up: bool
    io_running: bool
    scale_stats: FrameStats
    scale_turns: int
    heartbeat_age_s: float
    offers_taken: int
    lag: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True, slots=True)
class _Offer:
    event: LaneEvent


@dataclass(frozen=True, slots=True)
class _Control:
    what: str  # "stop" | "reset_lag" | "echo" | "hang" (tests: the lane loop sleeps, as a stuck driver would)
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Echo:
    """Sent back by the child behind every message it had to send when it got the echo request."""

    number: int


@dataclass(frozen=True, slots=True)
class _Log:
    """A log record as plain fields: its message formatted, its traceback as text, extras only if simple."""

    fields: dict[str, Any]


# -- the child --------------------------------------------------------------------------------------------
def lane_child(config: GateConfig, conn: Connection, log_levels: dict[str, int], parent_pid: int) -> None:
    """The lane process's entry point (spawned): run the lane until told to stop or orphaned."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out: queue.SimpleQueue[Any] = queue.SimpleQueue()
    root = logging.getLogger()
    root.handlers[:] = [_Forward(out)]
    for name, level in log_levels.items():  # the daemon's levels (root and logging.levels), here too
        logging.getLogger(name or None).setLevel(level)
    taken = _Taken()
    core = LaneCore(config, out.put, offer_done=taken.add)
    sender = threading.Thread(target=_send_loop, args=(conn, core, out, taken), name="lane-out", daemon=True)
    reader = threading.Thread(target=_read_loop, args=(conn, core, taken, out), name="lane-in", daemon=True)
    sender.start()
    reader.start()
    try:
        asyncio.run(core.run())
    except BaseException as exc:
        log.critical("the lane loop failed: %r", exc, exc_info=exc)
        out.put(None)
        sender.join(2.0)
        raise SystemExit(1) from None
    out.put(None)  # the sender flushes what is left, then closes the pipe
    sender.join(5.0)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when the daemon dies, whatever kills it (SIGKILL included).

    The signal follows the thread that started the child: the daemon starts it from its main thread,
    which lives as long as the daemon. Without prctl (not Linux) the closed pipe still stops the lane.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError) as exc:
        log.warning(
            "the lane process cannot ask to die with the daemon (%s): it stops when the pipe closes", exc
        )
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


class _Forward(logging.Handler):
    """Hands each log record to the parent, which logs it with its own handlers and format."""

    def __init__(self, out: queue.SimpleQueue[Any]) -> None:
        super().__init__()
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {k: v for k, v in vars(record).items() if isinstance(v, str | int | float | bool | None)}
            fields["msg"] = record.getMessage()
            fields["args"] = None
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            fields.pop("exc_info", None)
            self._out.put(_Log(fields))
        except Exception:
            self.handleError(record)


@dataclass(slots=True)
class _Taken:
    """Offers the lane loop accepted (it stepped or refused them): the parent's count of what is pending."""

    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self) -> None:
        with self.lock:
            self.count += 1


def _mirror(core: LaneCore, taken: _Taken, lag: bool) -> Mirror:
    return Mirror(
        view=core.view,
        health=copy.copy(core.health),
        light=core.light,
        io_stats=copy.copy(core.io.stats),
        io_link_up=core.io.link_up,
        io_running=core.io_task is not None and not core.io_task.done(),
        scale_stats=_frame_stats(core.scale.stats),
        scale_turns=core.scale.turns,
        heartbeat_age_s=core.heartbeat.age_s,
        offers_taken=taken.count,
        lag=core.lag.summary() if lag else None,
    )


def _frame_stats(stats: FrameStats) -> FrameStats:
    """A copy of counters the scale thread keeps writing (its dict copied in one step, under the GIL)."""
    return replace(stats, extra=dict(stats.extra))


def _send_loop(conn: Connection, core: LaneCore, out: queue.SimpleQueue[Any], taken: _Taken) -> None:
    """Send the lane's messages in order, each after a mirror as new as the step that made it."""
    sent_view: LaneStatus | None = None
    last_mirror = last_lag = 0.0
    try:
        while True:
            try:
                item = out.get(timeout=MIRROR_EVERY_S)
            except queue.Empty:
                item = ...
            now = time.monotonic()
            if item is None:
                _send_one(conn, _mirror(core, taken, lag=True))
                return
            if core.view is not sent_view or now - last_mirror >= MIRROR_EVERY_S:
                with_lag = now - last_lag >= LAG_EVERY_S
                sent_view = core.view
                _send_one(conn, _mirror(core, taken, lag=with_lag))
                last_mirror = now
                if with_lag:
                    last_lag = now
            if item is not ...:
                _send_one(conn, item)
    except (OSError, EOFError, BrokenPipeError):  # the parent is gone: the lane stops
        core.request_stop()
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def _send_one(conn: Connection, item: Any) -> None:
    try:
        conn.send(item)
    except (OSError, EOFError):
        raise
    except Exception as exc:  # a message that cannot be pickled is a bug: logged, the lane goes on
        log.error("lane message %s not sent: %r", type(item).__name__, exc)


def _read_loop(conn: Connection, core: LaneCore, taken: _Taken, out: queue.SimpleQueue[Any]) -> None:
    """Offers and controls from the parent; the pipe closing means the parent is gone: stop."""
    try:
        while True:
            try:
                item = conn.recv()
            except (OSError, EOFError):
                raise
            except Exception as exc:  # one message that cannot be read: counted as done, the rest go on
                log.error("a message from the daemon could not be read: %r", exc)
                taken.add()
                continue
            if isinstance(item, _Offer):
                try:
                    core.offer(item.event)  # counted as done once the lane has stepped it
                except LaneBusy as exc:
                    _refused(item.event, str(exc), out)
                    taken.add()
            elif isinstance(item, _Control):
                if item.what == "stop":
                    core.request_stop()
                    return
                if item.what == "reset_lag":
                    core.lag.reset()
                elif item.what == "echo":
                    out.put(_Echo(int(item.seconds)))
                elif item.what == "hang":
                    core.call_soon(time.sleep, item.seconds)
    except (OSError, EOFError):
        core.request_stop()


def _refused(event: LaneEvent, why: str, out: queue.SimpleQueue[Any]) -> None:
    """An offer the lane could not take: an alarm on record, and an officer's action let go of."""
    tx_id = getattr(event, "tx_id", None)
    detail = f"{type(event).__name__} not taken by the lane: {why}"
    log.error("%s", detail)
    out.put(AlarmRaised(tx_id, "lane_refused_event", detail))
    if isinstance(event, OfficerApproved | OfficerRejected | OfficerCorrected):
        out.put(OfficerApplied(event.tx_id))  # not applied: the desk lets the next action through


# -- the parent ---------------------------------------------------------------------------------------------
class LaneProcess:
    """The parent's handle on the lane process: start, offer, mirror, stop."""

    def __init__(self, config: GateConfig, on_message: Callable[[LaneMessage], None]) -> None:
        self._config = config
        self._on_message = on_message
        self._proc: mp.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: queue.Queue[Any] = queue.Queue(maxsize=MAX_EXTERNAL_PENDING + 8)
        self._offered = 0
        self._offer_lock = threading.Lock()
        self._started = False
        self.ended = asyncio.Event()
        self.mirror: Mirror | None = None
        self._mirror_at = 0.0
        self._reader: threading.Thread | None = None
        self._echoes: dict[int, asyncio.Future[None]] = {}
        self._echo_number = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Spawn the child (a fresh interpreter: nothing of this process's threads comes along)."""
        self._loop = asyncio.get_running_loop()
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=lane_child,
            args=(self._config, child, _log_levels(), os.getpid()),
            name=f"lane-{self._config.lane.lane_id}",
            daemon=True,
        )
        try:
            proc.start()  # from this (main) thread: the child's death signal follows the thread that made it
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        self._proc, self._conn = proc, parent
        self._started = True
        self._reader = threading.Thread(target=self._read_loop, name="lane-mirror", daemon=True)
        self._reader.start()
        threading.Thread(target=self._send_loop, name="lane-offers", daemon=True).start()

    # -- offers and controls (main loop) ------------------------------------------------------------
    def pending(self) -> int:
        taken = self.mirror.offers_taken if self.mirror is not None else 0
        return self._offered - taken

    def check_accepting(self) -> None:
        """Raise LaneBusy if an offer now would be refused (before anything is recorded)."""
        if not self.running():
            raise LaneBusy("the lane process is not running")
        if self.pending() >= MAX_EXTERNAL_PENDING:
            raise LaneBusy(f"{self.pending()} events already wait for the lane")

    def offer(self, event: LaneEvent) -> None:
        """Hand `event` to the lane loop; LaneBusy if it cannot take it now."""
        with self._offer_lock:
            self.check_accepting()
            try:
                self._outbox.put_nowait(_Offer(event))
            except queue.Full:
                raise LaneBusy("the lane process is not reading its events") from None
            self._offered += 1

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every message the lane had sent by now has been handled here (tests, a clean stop)."""
        if not self.running():
            return
        self._echo_number += 1
        number = self._echo_number
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._echoes[number] = waiter
        self.control("echo", float(number))
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            log.warning("the lane process did not answer within %.0f s", timeout)
        finally:
            self._echoes.pop(number, None)

    def control(self, what: str, seconds: float = 0.0) -> None:
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait(_Control(what, seconds))

    # -- what it says (threads, then the main loop) ---------------------------------------------------
    def _send_loop(self) -> None:
        conn = self._conn
        while conn is not None:
            item = self._outbox.get()
            try:
                conn.send(item)
            except (OSError, ValueError):  # the child is gone: its end is reported by the reader
                return
            except Exception as exc:  # cannot be pickled: a bug, logged; the offer counts as never made
                log.error("%s not sent to the lane: %r", type(item).__name__, exc)
                if isinstance(item, _Offer):
                    with self._offer_lock:
                        self._offered -= 1
                    event = item.event
                    if isinstance(event, OfficerApproved | OfficerRejected | OfficerCorrected):
                        self._post(self._on_message, OfficerApplied(event.tx_id))
                continue
            if isinstance(item, _Control) and item.what == "stop":
                return

    def _read_loop(self) -> None:
        conn = self._conn
        try:
            while conn is not None:
                item = conn.recv()
                self._post(self._received, item)
        except (OSError, EOFError):
            pass
        finally:
            self._post(self.ended.set)

    def _post(self, fn: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile: nobody listens any more
                loop.call_soon_threadsafe(fn, *args)

    def _received(self, item: Any) -> None:
        if isinstance(item, Mirror):
            if item.lag is None and self.mirror is not None:
                item = _with_lag(item, self.mirror.lag)
            self.mirror = item
            self._mirror_at = time.monotonic()
        elif isinstance(item, _Echo):
            waiter = self._echoes.pop(item.number, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif isinstance(item, _Log):
            record = logging.makeLogRecord(item.fields)
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)
        else:
            self._on_message(item)

    # -- health and stop -------------------------------------------------------------------------------
    def running(self) -> bool:
        return self._started and self._proc is not None and self._proc.is_alive() and not self.ended.is_set()

    def alive(self) -> bool:
        """Running, heard from recently, and its loop stepped within LANE_LOOP_MAX_AGE_S."""
        mirror = self.mirror
        if not self.running() or mirror is None:
            return False
        silent_s = time.monotonic() - self._mirror_at
        return silent_s < SILENT_S and mirror.heartbeat_age_s + silent_s <= LANE_LOOP_MAX_AGE_S

    async def stop(self, wait_s: float) -> None:
        """Ask the lane to stop and wait; kill it if it does not end in time."""
        proc = self._proc
        if proc is None:
            return
        self.control("stop")
        await asyncio.to_thread(proc.join, wait_s)
        if proc.is_alive():
            log.error("the lane process did not end within %.0f s of the stop: killed", wait_s)
            proc.kill()
            await asyncio.to_thread(proc.join, wait_s)
        reader = self._reader
        if reader is not None:  # the child's last messages are read (and posted) before the pipe closes
            await asyncio.to_thread(reader.join, wait_s)
        await asyncio.sleep(0)  # ...and handled: the records they carry reach the writer before it closes
        if self._conn is not None:
            self._conn.close()


def _with_lag(mirror: Mirror, lag: dict[str, dict[str, float]] | None) -> Mirror:
    """A mirror without lag figures keeps the last ones (they come once a second)."""
    return replace(mirror, lag=lag)


def _log_levels() -> dict[str, int]:
    """The root level and every logger's own level set in this process (logging.levels, --log-level)."""
    levels = {"": logging.getLogger().getEffectiveLevel()}
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


class LaneLag:
    """The lane process's lag figures, as last reported (about once a second)."""

    def __init__(self, lane: LaneProcess) -> None:
        self._lane = lane

    def summary(self) -> dict[str, dict[str, float]]:
        mirror = self._lane.mirror
        return dict(mirror.lag) if mirror is not None and mirror.lag is not None else {}

    def reset(self) -> None:
        """Start the figures afresh (benchmarks: one phase at a time)."""
        self._lane.control("reset_lag")

"""`gate-edge demo`: a whole simulated lane on the real drivers.

The lane controller simulator is a real Modbus TCP server and the scale simulator writes real
Toledo frames to a pty, so the daemon runs its production code paths. A scripted driver moves each
generated truck through the loops and onto the scale and obeys the lane (edge/demo/truck.py); held
vehicles wait for an officer, simulated or at the kiosk, and every officer action is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import sqlite3
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from devices.config import ScaleProtocol
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.scale_peer import ScaleSimPeer
from edge.config import GateConfig
from edge.daemon import LaneDaemon
from edge.decision import Decision
from edge.declaration import Declaration
from edge.demo.broker import DemoBroker, mosquitto_binary
from edge.demo.officer_feed import OfficerFeed, describe
from edge.demo.rendered import RenderedIdentifier
from edge.demo.traffic import SimVehicle, TrafficGenerator
from edge.demo.truck import TruckDriver, wait_for
from edge.kiosk.server import run_kiosk
from edge.kiosk.users import Role, UsersRepo
from edge.lane import LaneState
from edge.uplink import Uplink
from sync.clearances import WireDeclaration
from sync.config import TrustedKey
from sync.signing_keys import SigningKey
from vision.identity import Identification

if TYPE_CHECKING:  # the gate never imports central at start: the demo brings it in when it runs it
    from central.receiver import Central

log = logging.getLogger("edge.demo")


class ScriptedIdentifier:
    """The reads the traffic generator scripted for the vehicle on the stop line (no cameras, no models)."""

    def __init__(self) -> None:
        self.current: SimVehicle | Identification | None = None  # a generated truck, or reads set by a test

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        await asyncio.sleep(min(0.3, window_s))
        if isinstance(self.current, SimVehicle):
            return self.current.identification
        return self.current or Identification(plate=None)


KEEP_DECISIONS = 1000


class DemoPrinter:
    """Prints one line per transaction step, as it happens."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self.vehicle: SimVehicle | None = None
        # The first decision of each vehicle: the latest KEEP_DECISIONS of them (a demo run with
        # --vehicles 0 goes on for days); `decided` counts them all.
        self.decisions: deque[tuple[SimVehicle, Decision]] = deque(maxlen=KEEP_DECISIONS)
        self.decided = 0
        self.as_expected = 0
        self._last_tx: str | None = None  # a vehicle is decided again only while it is on the stop line
        self.latest: Decision | None = None  # the latest decision, a re-decision included
        self.feed: OfficerFeed | None = None  # the officers' actions, printed before any later lane step

    def print_officer_actions(self) -> None:
        """Print the officer actions recorded since the last call (at the kiosk or simulated)."""
        if self.feed is None:
            return
        try:
            records = self.feed.drain()
        except sqlite3.ProgrammingError as exc:  # the daemon closed its store: it stopped, on its own
            log.warning("officer actions are no longer printed: %s", exc)
            self.feed = None
            return
        for record in records:
            stamp = record.at.astimezone(UTC).strftime("%H:%M:%S")
            subject = "lane" if record.subject == "lane" else f"tx {record.subject[:8]}"
            self._line(f"{stamp} {subject} {describe(record)}")

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.print_officer_actions()  # audited before the lane heard of them: they come first
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        tx = str(data.get("tx_id", ""))[:8]
        if kind == "started":
            self._line(f"{stamp} tx {tx} vehicle on the stop line")
        elif kind == "decided":
            decision: Decision = data["decision"]
            self.latest = decision
            ident: Identification = data["identification"]
            plate = ident.plate.text if ident.plate else "-"
            boxes = ",".join(r.text for r in ident.containers) or "-"
            weight = data["weight_kg"]
            kg = f"{weight:,.0f} kg" if weight is not None else "no weight"
            why = "; ".join(decision.details) or "every rule holds"
            expected = ""
            first = data["tx_id"] != self._last_tx
            if self.vehicle is not None and first:
                self._last_tx = str(data["tx_id"])
                self.decisions.append((self.vehicle, decision))
                self.decided += 1
                self.as_expected += decision.outcome == self.vehicle.expected
                expected = f" (scenario {self.vehicle.scenario}, expected {self.vehicle.expected})"
            elif not first:
                expected = " (decided again after the officer's correction)"
            head = f"{stamp} tx {tx} plate {plate} containers {boxes} {kg}"
            self._line(f"{head} -> {decision.outcome}{expected}: {why}")
        elif kind == "ended":
            self._line(f"{stamp} tx {tx} ended: {data['result']}")

    def note(self, text: str) -> None:
        self._line(text)

    def _line(self, text: str) -> None:
        print(text, file=self._out, flush=True)


class DemoStartError(Exception):
    """The demo could not start its simulators (a port in use, most often)."""


class DemoGate:
    """The simulators, the daemon and the scripted traffic, started and stopped together."""

    def __init__(self, config: GateConfig, out: TextIO = sys.stdout) -> None:
        self.scale_sim = ScaleSimPeer(
            ScaleProtocol(config.devices.scale.protocol),
            checksum=config.devices.scale.toledo_checksum,
            division_kg=config.devices.scale.division_kg,
        )
        scale_cfg = config.devices.scale.model_copy(update={"port": self.scale_sim.port_name})
        devices = config.devices.model_copy(update={"scale": scale_cfg})
        self.config = config.model_copy(update={"devices": devices})
        self.controller = LaneControllerSim(
            self.config.devices,
            host=self.config.devices.io.host,
            port=self.config.devices.io.port,
            open_time_s=config.demo.barrier_move_s,
            close_time_s=config.demo.barrier_move_s,
        )
        self.broker: DemoBroker | None = None
        self.central: Central | None = None
        self.feed_key: SigningKey | None = None
        binary = mosquitto_binary() if config.demo.private_broker and config.sync.enabled else None
        if binary is not None:
            self.broker = DemoBroker(binary, self.config.store.path.parent / "demo-broker")
            broker_cfg = self.config.sync.broker.model_copy(
                update={"host": "127.0.0.1", "port": self.broker.port}
            )
            # Central signs the clearance feed with a key made for this run; the gate trusts that key only.
            self.feed_key = SigningKey.generate(f"demo-{secrets.token_hex(4)}")
            trusted = TrustedKey(key_id=self.feed_key.key_id, public_key=self.feed_key.public_text)
            sync_cfg = self.config.sync.model_copy(update={"broker": broker_cfg, "clearance_keys": [trusted]})
            self.config = self.config.model_copy(update={"sync": sync_cfg})
        self.identifier: ScriptedIdentifier | RenderedIdentifier = (
            RenderedIdentifier(config.vision) if config.demo.cameras == "rendered" else ScriptedIdentifier()
        )
        self.daemon = LaneDaemon(self.config, self.identifier)
        self.uplink = Uplink.for_daemon(self.daemon, self.config.sync)
        self.daemon.uplink_status = self.uplink.status
        self.printer = DemoPrinter(out)
        self.printer.feed = OfficerFeed(self.daemon.store.audit)
        self.daemon.add_listener(self.printer)
        self.driver = TruckDriver(
            self.daemon, self.controller, self.scale_sim, self.printer, config.demo.officer_auto_s
        )
        self.traffic = TrafficGenerator(
            config.demo.seed, config.demo.declarations, config.demo.mismatch_share
        )

    def seed_store(self) -> None:
        for decl in self.traffic.declarations:
            self.daemon.store.declarations.upsert(decl)

    async def _issue(self, fresh: list[Declaration]) -> None:
        """Declarations customs cleared meanwhile: into the gate's cache, and through central's feed."""
        if not fresh:
            return
        for decl in fresh:  # at once: the next truck may be one of them
            self.daemon.store.declarations.upsert(decl)
        self.printer.note(f"customs cleared {len(fresh)} more declarations")
        central = self.central
        if central is None or self.feed_key is None or not central.subscribed.is_set():
            return
        wires = [WireDeclaration.model_validate(d.model_dump(mode="json")) for d in fresh]
        try:  # central's record of the feed follows; the gate already holds them
            sent = await asyncio.to_thread(central.publish_clearances, self.config.gate_id, wires, False)
        except (OSError, RuntimeError) as exc:
            log.warning("central office: fresh declarations not sent: %s", exc)
            return
        if sent is not None:
            self.printer.note(
                f"central office: {len(wires)} declarations sent to the gate, update {sent.feed_version}"
            )

    async def _print_officer_actions(self) -> None:
        """Officer actions that change no lane step (a rejection) are printed within a quarter second."""
        while True:
            self.printer.print_officer_actions()
            await asyncio.sleep(0.25)

    def create_demo_users(self) -> dict[str, str]:
        """Kiosk accounts for the demo, with passwords made for this run (printed, never stored in clear)."""
        users = UsersRepo(self.daemon.store.conn)
        made: dict[str, str] = {}
        for name, role in (
            ("officer", Role.OFFICER),
            ("supervisor", Role.SUPERVISOR),
            ("viewer", Role.VIEWER),
        ):
            if users.get(name) is None:
                password = secrets.token_urlsafe(9)
                users.add(name, role, password, datetime.now(UTC))
                made[name] = password
        return made

    async def run(self, vehicles: int) -> list[tuple[SimVehicle, Decision]]:
        """Send `vehicles` trucks through (0: until cancelled) and return what was decided."""
        if self.config.kiosk.enabled:  # else the demo prints a kiosk address that another program answers
            self._check_kiosk_port()
        self.seed_store()
        if isinstance(self.identifier, RenderedIdentifier):
            await asyncio.to_thread(self.identifier.warm_up)  # load the models before the first truck
        if self.config.kiosk.enabled:  # before the loop runs devices: password hashing takes a while
            url = f"http://{self.config.kiosk.host}:{self.config.kiosk.port}"
            accounts = self.create_demo_users()
            logins = ", ".join(f"{name} / {password}" for name, password in accounts.items())
            self.printer.note(f"kiosk on {url}" + (f"  (log in as {logins})" if logins else ""))
        self._start_central()
        try:
            self.scale_sim.start()
            await self.controller.start()
        except BaseException as exc:  # nothing of a failed start may outlive it (the broker least of all)
            self.scale_sim.stop()
            self._stop_central()
            if isinstance(exc, RuntimeError | OSError):
                io = self.config.devices.io
                raise DemoStartError(
                    f"the lane controller simulator cannot listen on {io.host}:{io.port} ({exc}): "
                    "is another demo running? set devices.io.port in a copy of config/demo.yaml"
                ) from exc
            raise
        daemon_task = asyncio.create_task(self.daemon.run())
        link_task = asyncio.create_task(self.uplink.run())
        kiosk: asyncio.Task[None] | None = None
        officers = asyncio.create_task(self._print_officer_actions())
        try:
            await asyncio.wait_for(self.daemon.ready.wait(), timeout=15)
            await self._send_clearances()
            kiosk = asyncio.create_task(
                run_kiosk(self.daemon, self.config.kiosk, sync_status=self.uplink.status)
            )
            count = 0
            while vehicles == 0 or count < vehicles:
                vehicle = self.traffic.next_vehicle()
                await self._issue(self.traffic.take_issued())
                self.identifier.current = vehicle
                try:
                    await self.driver.one_vehicle(vehicle)
                finally:
                    self.identifier.current = None
                count += 1
                await asyncio.sleep(self.config.demo.interval_s)
            await wait_for(lambda: self.daemon.view.state is LaneState.IDLE, timeout=30)
        finally:
            officers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await officers
            self.printer.print_officer_actions()
            if kiosk is not None:  # the kiosk reads the store: stop it before the daemon closes it
                kiosk.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await kiosk
            # let central catch up: the lane writer's last records first, then the outbox drain
            with contextlib.suppress(RuntimeError):  # a writer already shut down has nothing queued
                await self.daemon.settle()

            # (not for a broker of someone else's that is out of reach: nothing would drain it)
            def can_drain() -> bool:
                return self.broker is not None or bool(self.uplink.status()["connected"])

            drained = await wait_for(
                lambda: self.daemon.store.outbox.depth() == 0 or not can_drain(), timeout=30
            )
            if not drained or self.daemon.store.outbox.depth():
                self.printer.note("the outbox still holds events: they go out on the next start")
            await self.uplink.stop()
            await link_task
            await self.daemon.stop()
            await daemon_task
            await self.controller.stop()
            self.scale_sim.stop()
            self._stop_central()
        return list(self.printer.decisions)

    def _check_kiosk_port(self) -> None:
        host, port = self.config.kiosk.host, self.config.kiosk.port
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise DemoStartError(
                    f"the kiosk cannot listen on {host}:{port} ({exc.strerror or exc}): is another demo "
                    "running? set kiosk.port in a copy of config/demo.yaml"
                ) from None

    def _start_central(self) -> None:
        """The private broker and the reference central office beside the demo gate."""
        if self.broker is None:
            return
        from central.receiver import Central
        from central.settings import CentralSettings

        self.broker.start()
        db = self.config.store.path.parent / "demo-central.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        settings = CentralSettings(
            broker=self.config.sync.broker.model_copy(update={"client_id": None}),
            db_path=db,
            topic_prefix=self.config.sync.topic_prefix,
            session_expiry_s=0,
            signing_key=self.feed_key,
        )
        self.central = Central(settings)
        self.central.start()
        self.printer.note(
            f"central office: MQTT broker on 127.0.0.1:{self.broker.port}, events stored in {db}"
        )

    async def _send_clearances(self) -> None:
        """Central sends the gate its declarations as one signed snapshot: the clearance feed, end to end."""
        central, key = self.central, self.feed_key
        if central is None or key is None:
            return
        if not await asyncio.to_thread(central.subscribed.wait, 10):
            self.printer.note("central office: not connected to the broker; no clearances sent")
            return
        wires = [WireDeclaration.model_validate(d.model_dump(mode="json")) for d in self.traffic.declarations]
        sent = await asyncio.to_thread(central.publish_clearances, self.config.gate_id, wires, True)
        if sent is not None:
            self.printer.note(
                f"central office: {len(wires)} declarations sent to the gate, snapshot {sent.feed_version}"
                f" signed with key {key.key_id}"
            )

    def _stop_central(self) -> None:
        if self.central is not None:
            stored, dropped = self.central.counts["stored"], self.central.counts["duplicate"]
            self.printer.note(f"central office stored {stored} gate events ({dropped} duplicates dropped)")
            self.central.stop()
        if self.broker is not None:
            self.broker.stop()

"""The gate configuration: one pydantic model per subsystem, composed here and validated at start-up.

Unknown keys are errors. String values may name environment variables as `${NAME}` so secrets
stay out of the file; a missing variable is reported with the key that needs it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devices.config import DevicesConfig
from edge.decision import DecisionConfig
from edge.kiosk import KioskConfig
from edge.lane import LaneConfig
from edge.logs import LoggingConfig
from sync.config import SyncConfig
from vision.config import VisionConfig

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: Settings an older gate.yaml may still have, and where they live now (check-config says so).
_MOVED: dict[str, str] = {
    "lane.close_hold_s": "devices.barrier.close_hold_s",
    "lane.barrier_move_timeout_s": "devices.barrier.move_timeout_s",
}


class StoreConfig(BaseModel):
    """Where the lane keeps its local state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Field(Path("var/gate.db"), description="SQLite database file (WAL mode).")
    evidence_dir: Path = Field(
        Path("var/evidence"),
        description="Evidence images of the reads (best frame, region drawn), kept as <sha256>.jpg.",
    )
    evidence_keep_days: float = Field(
        90.0, gt=0, description="Evidence images older than this are deleted (checked hourly)."
    )
    min_free_mb: float = Field(
        200.0,
        ge=0,
        allow_inf_nan=False,
        description="Free space on the store's file system below which the lane raises a storage alarm and "
        "/readyz says not ready, before writes fail; 0 turns the watermark off.",
    )
    check_s: float = Field(
        5.0,
        gt=0,
        le=300,
        allow_inf_nan=False,
        description="How often the free space is measured and records the store refused are retried.",
    )


class DemoConfig(BaseModel):
    """The simulated traffic used by `gate-edge demo`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vehicles: int = Field(0, ge=0, description="Vehicles to send through; 0 runs until interrupted.")
    interval_s: float = Field(
        2.0, ge=0, description="Pause between one vehicle leaving and the next arriving."
    )
    seed: int = Field(7, description="Random seed of the traffic generator (same seed, same traffic).")
    mismatch_share: float = Field(
        0.3, ge=0, le=1, description="Share of vehicles that do not match a cleared declaration."
    )
    declarations: int = Field(40, ge=1, description="Cleared declarations seeded into the store at start.")
    barrier_move_s: float = Field(1.0, gt=0, description="Simulated barrier travel time.")
    cameras: Literal["rendered", "scripted"] = Field(
        "rendered",
        description="rendered: each truck's plate and containers are drawn into camera frames and read by "
        "the real models; scripted: the generator's reads are used as they are (no models, deterministic).",
    )
    private_broker: bool = Field(
        True,
        description="Start a private Mosquitto (if installed) and the reference central office, and point "
        "sync at them; false uses sync.broker as configured.",
    )
    officer_auto_s: float = Field(
        4.0,
        ge=0,
        description="A simulated officer answers held vehicles after this long; 0 leaves them held.",
    )


class GateConfig(BaseModel):
    """Everything one lane daemon needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gate_id: str = Field(
        "demo-gate", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Gate identifier."
    )
    lane: LaneConfig = Field(default_factory=LaneConfig, description="Lane state machine timing.")
    devices: DevicesConfig = Field(default_factory=DevicesConfig, description="Lane hardware.")
    decision: DecisionConfig = Field(default_factory=DecisionConfig, description="Decision rules.")
    vision: VisionConfig = Field(default_factory=VisionConfig, description="Cameras and recognition.")
    logging: LoggingConfig = Field(
        default_factory=LoggingConfig, description="Log format and levels, per subsystem."
    )
    sync: SyncConfig = Field(
        default_factory=SyncConfig, description="Uplink to the central office over MQTT."
    )
    kiosk: KioskConfig = Field(
        default_factory=KioskConfig, description="The officer's kiosk: screen and JSON API."
    )
    store: StoreConfig = Field(default_factory=StoreConfig, description="Local store.")
    demo: DemoConfig = Field(default_factory=DemoConfig, description="Simulated traffic for the demo.")


class ConfigError(Exception):
    """A configuration that cannot be used; `errors` holds one line per problem, each with its key path."""

    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(errors))
        self.source = source
        self.errors = errors


def _expand_env(value: Any, path: tuple[str | int, ...], missing: list[str]) -> Any:
    if isinstance(value, str):

        def _sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                missing.append(f"{_dotted(path)}: environment variable {name} is not set")
                return ""
            return os.environ[name]

        return _ENV_REF.sub(_sub, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, (*path, str(k)), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, (*path, i), missing) for i, v in enumerate(value)]
    return value


def _dotted(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_config(data: Any, source: str = "<config>") -> GateConfig:
    """Validate a mapping (from YAML) into a GateConfig, or raise ConfigError naming every bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): expected a mapping of sections"])
    missing: list[str] = []
    expanded = _expand_env(data, (), missing)
    if missing:
        raise ConfigError(source, missing)
    try:
        return GateConfig.model_validate(expanded)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if err["type"] == "at_key":  # a section's check that names its own key (devices' addresses)
                loc = (*loc, *str(err.get("ctx", {}).get("key", "")).split("."))
            message, key = err["msg"], _dotted(loc)
            if err["type"] == "extra_forbidden":
                moved = _MOVED.get(key)
                message = (
                    f"unknown key (moved to {moved}: one setting for the lane and the barrier driver)"
                    if moved
                    else "unknown key (not a setting of this section)"
                )
            errors.append(f"{key}: {message[:1].lower()}{message[1:]}")
        raise ConfigError(source, errors) from None


def watchdog_not_set(config: GateConfig) -> str | None:
    """The check-config error for a file that does not say how its controller's watchdog is set, or None.

    The model's default is WAGO's register map; a site whose file is silent would have it written to a
    controller that may keep something else there, or may have no watchdog at all: the file must say
    (a watchdog section, or enabled: false with a waive_reason, which the model itself requires).
    """
    if "watchdog" in config.devices.io.model_fields_set:
        return None
    return (
        "devices.io.watchdog: not set: a dead or hung daemon must not leave the barrier's close coil on; "
        "configure this controller's communication watchdog (docs/deploy.md; the default is WAGO 750-352's "
        "registers) or set enabled: false with a waive_reason"
    )


#: A gate's configuration is a few kilobytes; anything near this is not one.
MAX_CONFIG_BYTES = 1024 * 1024


class _PlainYamlLoader(yaml.SafeLoader):
    """Safe YAML without aliases: `*name` lets a 300-byte file expand to gigabytes (billion laughs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a gate configuration", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A key twice in one mapping is refused: YAML would keep the last silently, so a section appended
        at the end of the file (`devices:` again) would drop every setting of the first."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable: the base class says so
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"{key!r} appears twice in one mapping: the second would replace the first",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_config(path: Path | str | None) -> GateConfig:
    """Read and validate a YAML file; None gives the embedded defaults (the demo gate).

    The file is bounded before it is parsed (size, no aliases, nesting), and every way it can be wrong is
    a ConfigError naming it: check-config runs before every start and must answer, not hang or crash.
    """
    if path is None:
        return GateConfig()
    source = str(path)
    if Path(path).is_fifo() or Path(path).is_char_device():  # reading would wait for a writer, or never end
        raise ConfigError(source, ["(file): not a regular file (a pipe or device): not a gate configuration"])
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(source, [f"(file): cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(source, [f"(file): larger than {MAX_CONFIG_BYTES} bytes: not a gate configuration"])
    try:
        text = raw.decode("utf-8")
        data = yaml.load(text, Loader=_PlainYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [f"(file): not UTF-8 text (byte {exc.start})"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"(file): not valid YAML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(source, ["(file): nested too deeply to be a gate configuration"]) from None
    if data is None:  # empty, or comments only: most likely the wrong file, never a lane's settings
        raise ConfigError(
            source,
            [
                "(file): empty: a gate configuration names at least its gate, lane and devices "
                "(`gate-edge config example --site` prints one to start from)"
            ],
        )
    return parse_config(data, source)

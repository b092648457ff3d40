"""All settings, read from the environment in one place, typed, failing loudly.

Every setting is AFFECTWATCH_<NAME>. A secret may instead be given as AFFECTWATCH_<NAME>_FILE,
the path of a file holding it. A malformed value raises ConfigError naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from affectwatch.exceptions import AffectWatchError, ConfigError

PREFIX = "AFFECTWATCH_"
T = TypeVar("T")


def _bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        value = kind(raw)
        if value <= 0:  # type: ignore[operator]
            raise ValueError("must be greater than 0")
        return value

    return parse


def _non_negative(kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        value = kind(raw)
        if value < 0:  # type: ignore[operator]
            raise ValueError("must not be negative")
        return value

    return parse


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must lie between 0 and 1")
    return value


def _labels(raw: str) -> frozenset[str]:
    from affectwatch.labels import canonical

    return frozenset(canonical(x) for x in raw.split(",") if x.strip())


def setting(default: Any, parse: Callable[[str], Any] = str, doc: str = "", secret: bool = False) -> Any:
    """Declare a setting: its default, how to parse it from text, what it means."""
    return field(default=default, metadata={"parse": parse, "doc": doc, "secret": secret})


@dataclass(frozen=True)
class Config:
    """The whole configuration. Build it once per process with Config.from_env()."""

    database_url: str = setting("postgresql://postgres@127.0.0.1:5432/affectwatch", doc="Postgres URL", secret=True)
    redis_url: str = setting("redis://127.0.0.1:6379/0", doc="Redis URL (rediss:// for TLS; a password in the URL)", secret=True)
    queue: str = setting("frames", doc="RQ queue the producer fills and workers drain")
    queue_max: int = setting(200, _positive(int), "jobs waiting above which the producer drops frames")
    frame_ttl: int = setting(60, _positive(int), "seconds a queued job may wait before it expires")
    batch_frames: int = setting(4, _positive(int), "frames per job, at most")
    batch_seconds: float = setting(2.0, _positive(float), "seconds a camera's batch may wait to fill")
    sample_fps: float = setting(2.0, _positive(float), "default frames per second sampled from a camera")
    jpeg_quality: int = setting(85, _positive(int), "JPEG quality of queued frames (1-100)")
    camera_poll_seconds: float = setting(5.0, _positive(float), "how often the producer re-reads the cameras")
    camera_max_backoff: float = setting(60.0, _positive(float), "longest wait between reconnects of a failing camera")
    loop_files: bool = setting(True, _bool, "play video files and image folders in a loop")
    min_face_size: int = setting(40, _positive(int), "MTCNN minimum face size in pixels (of the scaled frame)")
    detect_max_side: int = setting(960, _non_negative(int), "frames are scaled so their longer side is at most this before detection (0: never)")
    face_threshold: float = setting(0.9, _fraction, "MTCNN probability below which a detection is discarded")
    model: Path = setting(Path(""), Path, "expression model weights (.safetensors; empty: the shipped model)")
    device: str = setting("auto", str, "torch device for workers: auto, cpu, cuda, cuda:N")
    torch_threads: int = setting(0, _non_negative(int), "torch CPU threads per worker (0: torch's default)")
    job_timeout: int = setting(120, _positive(int), "seconds a worker may spend on one job")
    job_retries: int = setting(3, _non_negative(int), "times a failed job is retried")
    negative_labels: frozenset[str] = setting(
        frozenset({"anger", "contempt", "disgust", "fear", "sad"}), _labels, "labels counted as negative"
    )
    timezone: str = setting("UTC", str, "the care home's time zone, for views and the dashboard")
    secret_key: str = setting("dev-insecure-secret-key", doc="dashboard session signing key", secret=True)
    environment: str = setting("development", doc="development or production (production refuses default secrets)")
    dashboard_host: str = setting("127.0.0.1", doc="dashboard listen address")
    dashboard_port: int = setting(8000, _positive(int), "dashboard listen port")
    dashboard_threads: int = setting(8, _positive(int), "dashboard (waitress) worker threads")
    session_idle_minutes: int = setting(120, _positive(int), "idle minutes after which a dashboard session ends")
    session_max_hours: int = setting(12, _positive(int), "hours after which a dashboard session ends in any case")
    login_max_failures: int = setting(5, _positive(int), "failed sign-ins (per name, 15 min) before sign-in slows down")
    dashboard_poll_seconds: float = setting(10.0, _positive(float), "seconds between dashboard checks for new alerts")
    log_level: str = setting("INFO", doc="logging level")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        values = {f.name: _read(f.name, f.metadata, env) for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if v is not None})

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, meaning) for every setting, for the README and `affectwatch config`."""
        return [(PREFIX + f.name.upper(), _show(f.default), f.metadata["doc"]) for f in fields(cls)]


def _show(value: Any) -> str:
    return ",".join(sorted(value)) if isinstance(value, frozenset) else str(value)


def _read(name: str, meta: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    var = PREFIX + name.upper()
    raw = env.get(var)
    if raw is None and meta["secret"] and env.get(var + "_FILE"):
        raw = _read_file(var + "_FILE", env[var + "_FILE"])
    if raw is None or raw == "":
        return None
    try:
        return meta["parse"](raw)
    except (ValueError, AffectWatchError) as exc:
        raise ConfigError(f"{var}={raw!r} is not valid: {exc}") from exc


def _read_file(var: str, path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{var}: cannot read {path}: {exc.strerror}") from exc

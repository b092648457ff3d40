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
SHIPPED_MODEL = Path()  # the empty path: the model shipped in worker/weights
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


def _lease(raw: str) -> int:
    value = int(raw)
    if value < 2:
        raise ValueError("must be at least 2 (RQ counts a job's lease in whole seconds)")
    return value


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must lie between 0 and 1")
    return value


def _scale_step(raw: str) -> float:
    value = float(raw)
    if not 0.0 < value < 1.0:
        raise ValueError("must lie strictly between 0 and 1")
    return value


def _labels(raw: str) -> frozenset[str]:
    from affectwatch.labels import canonical

    return frozenset(canonical(x) for x in raw.split(",") if x.strip())


def _seconds_list(raw: str) -> tuple[int, ...]:
    values = tuple(int(x) for x in raw.split(",") if x.strip())
    if not values or min(values) < 0:
        raise ValueError("expected seconds, comma-separated, none negative")
    return values


def _snapshot_hours(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 72:
        raise ValueError("must lie between 0 (no snapshots) and 72 hours")
    return value


def _urls(raw: str) -> tuple[str, ...]:
    urls = tuple(x.strip() for x in raw.split(",") if x.strip())
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an http:// or https:// URL")
    return urls


def _words(raw: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in raw.split(",") if x.strip())


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a TCP port, 1-65535, or 0 (off)")
    return value


def _log_format(raw: str) -> str:
    if raw.strip() not in {"text", "json"}:
        raise ValueError("expected text or json")
    return raw.strip()


def _counting(raw: str) -> str:
    if raw.strip() not in {"probability", "label"}:
        raise ValueError("expected probability or label")
    return raw.strip()


def _share_by(raw: str) -> str:
    if raw.strip() not in {"minute", "face"}:
        raise ValueError("expected minute or face")
    return raw.strip()


def setting(default: Any, parse: Callable[[str], Any] = str, doc: str = "", secret: bool = False) -> Any:
    """Declare a setting: its default, how to parse it from text, what it means."""
    return field(default=default, metadata={"parse": parse, "doc": doc, "secret": secret})


@dataclass(frozen=True)
class Config:
    """The whole configuration. Build it once per process with Config.from_env()."""

    database_url: str = setting("postgresql://postgres@127.0.0.1:5432/affectwatch", doc="Postgres URL", secret=True)
    database_pool: bool = setting(True, _bool, "the dashboard and workers keep Postgres connections open and reuse "
                                  "them, checked before each use (false: a new connection per request and job)")
    redis_url: str = setting("redis://127.0.0.1:6379/0", doc="Redis URL (rediss:// for TLS; a password in the URL)",
                             secret=True)
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
    media_root: Path = setting(Path("/var/lib/affectwatch/media"), Path,
                               "the folder camera video files and image folders must lie in (scripts/run.sh: media/)")
    allow_local_sources: bool = setting(False, _bool, "allow network camera sources on loopback, link-local and "
                                        "cloud-metadata addresses")
    min_face_size: int = setting(40, _positive(int), "MTCNN minimum face size in pixels (of the scaled frame)")
    detect_max_side: int = setting(960, _non_negative(int),
                                   "frames are scaled so their longer side is at most this before detection (0: never)")
    face_threshold: float = setting(0.9, _fraction, "MTCNN probability below which a detection is discarded")
    quality_min_face: int = setting(48, _non_negative(int),
                                    "faces worth reading: shorter side of a face's box (frame pixels) below which"
                                    " it does not count towards alerts")
    quality_min_sharpness: float = setting(50.0, _non_negative(float),
                                           "faces worth reading: variance of the Laplacian of the classifier's"
                                           " 48x48 grey face below which it does not count (blurred)")
    quality_max_yaw: float = setting(30.0, _non_negative(float),
                                     "faces worth reading: estimated yaw (degrees, from MTCNN's landmarks) beyond"
                                     " which a face does not count")
    quality_max_pitch: float = setting(30.0, _non_negative(float),
                                       "faces worth reading: estimated pitch (degrees) beyond which a face does not"
                                       " count")
    quality_min_detection: float = setting(0.95, _fraction,
                                           "faces worth reading: MTCNN probability below which a face does not count")
    quality_min_confidence: float = setting(0.4, _fraction,
                                            "faces worth reading: calibrated probability of the label read below"
                                            " which a face does not count (the classifier abstains)")
    detect_scale_step: float = setting(0.65, _scale_step, "MTCNN image-pyramid scale step, between 0 and 1"
                                       " (lower: fewer pyramid levels, faster, may miss faces between levels)")
    detect_proposal_threshold: float = setting(0.6, _fraction, "MTCNN first-stage (P-Net) probability a face proposal"
                                               " needs (higher: fewer proposals to check, faster, may miss hard faces)")
    detect_refine_nms: float = setting(0.6, _fraction, "MTCNN second-stage (R-Net) overlap above which its boxes merge"
                                       " before the third stage reads them (MTCNN's own: 0.7; lower: faster)")
    identity_threshold: float = setting(0.5, _positive(float),
                                        "face-template distance under which a face is an enrolled resident's"
                                        " (bench/identity.py; lower: fewer wrong residents, more unknown faces)")
    identity_recheck_seconds: float = setting(10.0, _non_negative(float),
                                              "seconds a tracked face keeps its identity before it is matched again"
                                              " (0: match every face in every frame)")
    model: Path = setting(SHIPPED_MODEL, Path, "expression model weights (.safetensors; empty: the shipped model)")
    device: str = setting("auto", str, "torch device for workers: auto, cpu, cuda, cuda:N")
    torch_threads: int = setting(0, _non_negative(int), "torch CPU threads per worker (0: torch's default)")
    job_timeout: int = setting(120, _positive(int), "seconds a worker may spend on one job")
    job_retries: int = setting(3, _non_negative(int), "times a failed job is retried")
    worker_maintenance_seconds: int = setting(60, _positive(int),
                                              "seconds between RQ maintenance runs, busy or idle (expired "
                                              "registry entries)")
    worker_lease_seconds: int = setting(5, _lease,
                                        "seconds a worker's lease on its running job lasts (renewed 5 times a "
                                        "lease); a killed worker's job is requeued by another once it lapses")
    negative_labels: frozenset[str] = setting(
        frozenset({"anger", "contempt", "disgust", "fear", "sad"}), _labels, "labels counted as negative"
    )
    timezone: str = setting("UTC", str, "the care home's time zone, for views and the dashboard")
    secret_key: str = setting("dev-insecure-secret-key", doc="dashboard session signing key", secret=True)
    environment: str = setting("development", doc="development or production (production refuses default secrets)")
    dashboard_host: str = setting("127.0.0.1", doc="dashboard listen address")
    dashboard_port: int = setting(8000, _positive(int), "dashboard listen port")
    dashboard_threads: int = setting(8, _positive(int), "dashboard (waitress) worker threads")
    trusted_proxy: str = setting("", doc="address of the TLS reverse proxy whose X-Forwarded-For/-Proto the dashboard "
                                 "trusts (empty: none; docker-compose.yml: its proxy service)")
    allow_plain_http: bool = setting(False, _bool, "let the dashboard start in production with no TLS proxy in front "
                                     "(AFFECTWATCH_TRUSTED_PROXY empty)")
    session_idle_minutes: int = setting(120, _positive(int), "idle minutes after which a dashboard session ends")
    session_max_hours: int = setting(12, _positive(int), "hours after which a dashboard session ends in any case")
    login_max_failures: int = setting(5, _positive(int),
                                      "failed sign-ins (per name and address, 15 min) before that address slows down")
    password_hash: str = setting("scrypt", doc="how new passwords are hashed: scrypt, or pbkdf2:sha256[:ROUNDS]")
    new_password: str = setting("", doc="password `affectwatch user create|password` set instead of asking (scripts)",
                                secret=True)
    producer_db_password: str = setting("", doc="`affectwatch migrate` makes the producer's own database login, "
                                        "DATABASE_producer_login, with this password (empty: none made)", secret=True)
    worker_db_password: str = setting("", doc="the same for the workers' login, DATABASE_worker_login", secret=True)
    dashboard_db_password: str = setting("", doc="the same for the dashboard's login, DATABASE_dashboard_login",
                                         secret=True)
    dashboard_poll_seconds: float = setting(10.0, _positive(float), "seconds between dashboard checks for new alerts")
    alert_window_minutes: float = setting(10.0, _positive(float), "sliding window of capture time the alert rule reads")
    alert_min_faces: int = setting(20, _positive(int), "faces a window needs before it can raise an alert")
    alert_min_span_minutes: float = setting(5.0, _non_negative(float),
                                            "capture time a window's counted faces must span (earliest to latest)"
                                            " before it can raise an alert")
    alert_min_minutes: int = setting(6, _non_negative(int),
                                     "distinct clock minutes a window's counted faces must fall in before it can"
                                     " raise an alert (a burst cannot carry it)")
    alert_share_by: str = setting("minute", _share_by,
                                  "a window's negative share: minute (each clock minute's faces weigh at most as much"
                                  " as the window's median minute: a burst weighs as one ordinary minute) or face")
    alert_open_share: float = setting(0.6, _fraction, "negative share of a window at or above which an alert opens")
    alert_close_share: float = setting(0.4, _fraction, "negative share an open alert must stay below to close")
    alert_recover_minutes: float = setting(10.0, _positive(float), "how long the share must stay below the close share")
    alert_counting: str = setting("probability", _counting,
                                  "how a face counts: probability (its summed negative probability) or label")
    alert_label_floor: float = setting(0.5, _fraction, "label counting: confidence a negative label needs to count")
    alert_cooldown_minutes: float = setting(30.0, _non_negative(float),
                                            "after an acknowledgement, minutes without a new alert for the resident")
    alert_rise_margin: float = setting(0.1, _fraction, "rise over the acknowledged peak that alerts anyway")
    alert_baseline: bool = setting(False, _bool, "compare each resident with their own usual negative share")
    alert_baseline_days: float = setting(7.0, _positive(float), "days of history a resident's baseline is taken from")
    alert_baseline_margin: float = setting(0.2, _fraction, "share above the baseline a window needs to alert")
    alert_baseline_min_faces: int = setting(500, _positive(int), "faces a baseline needs before it is used")
    alert_settle_seconds: float = setting(120.0, _non_negative(float),
                                          "how far behind the newest face recovery is decided (late faces)")
    alert_snapshot_hours: int = setting(0, _snapshot_hours,
                                        "hours an alert's face-crop snapshot is kept (0: none taken; 72 at most)")
    alert_stale_minutes: float = setting(60.0, _positive(float), "an open alert without faces this long resolves")
    camera_offline_minutes: float = setting(5.0, _positive(float),
                                            "minutes without frames after which a monitored camera alerts")
    alert_sweep_seconds: float = setting(30.0, _positive(float), "seconds between sweeps of the alert scheduler")
    alert_queue: str = setting("alerts", doc="RQ queue of alert deliveries (webhooks, email)")
    alert_webhook_urls: tuple[str, ...] = setting((), _urls, "webhooks every alert change is posted to (comma list)")
    alert_webhook_secret: str = setting("", doc="HMAC-SHA256 key signing posts to AFFECTWATCH_ALERT_WEBHOOK_URLS",
                                        secret=True)
    alert_webhook_timeout: float = setting(10.0, _positive(float), "seconds a webhook may take to answer")
    alert_delivery_backoff: tuple[int, ...] = setting((10, 30, 120, 600, 1800), _seconds_list,
                                                      "seconds between delivery retries; their number is the retries")
    dashboard_url: str = setting("http://127.0.0.1:8000", doc="the dashboard's address as staff reach it, for links")
    smtp_host: str = setting("", doc="SMTP server for alert email (empty: no email)")
    smtp_port: int = setting(587, _positive(int), "SMTP port")
    smtp_user: str = setting("", doc="SMTP user name (empty: no login)")
    smtp_password: str = setting("", doc="SMTP password", secret=True)
    smtp_starttls: bool = setting(True, _bool, "upgrade the SMTP connection with STARTTLS")
    smtp_from: str = setting("affectwatch@localhost", doc="sender address of alert email")
    alert_email_to: tuple[str, ...] = setting((), _words, "recipients of alert email, comma-separated")
    retention_raw_days: int = setting(90, _non_negative(int),
                                      "days raw faces and frames are kept (0: forever); whole months are dropped")
    retention_aggregate_days: int = setting(730, _non_negative(int),
                                            "days the hourly expression aggregates are kept (0: forever)")
    retention_alert_days: int = setting(730, _non_negative(int),
                                        "days resolved alerts are kept, with their events (0: forever)")
    retention_audit_days: int = setting(730, _non_negative(int),
                                        "days audit-log entries (who viewed, exported or erased what) are kept"
                                        " (0: forever)")
    partitions_ahead: int = setting(3, _non_negative(int), "months of faces/frames partitions made ahead of now")
    history_refresh_seconds: float = setting(60.0, _positive(float),
                                             "seconds between refreshes of the history aggregates (history maintain)")
    log_level: str = setting("INFO", doc="logging level")
    log_format: str = setting("text", _log_format, "log lines as text, or json (one object a line, with camera_id,"
                              " job_id and delivery_id fields where they apply)")
    metrics_host: str = setting("127.0.0.1", doc="address the processes' Prometheus /metrics ports listen on")
    producer_metrics_port: int = setting(0, _port, "producer's Prometheus /metrics port (0: off)")
    worker_metrics_port: int = setting(0, _port, "workers' Prometheus /metrics port (0: off); a second worker on a"
                                       " host takes the next free port, up to 31 above")
    alerts_metrics_port: int = setting(0, _port, "alert scheduler's and delivery worker's /metrics port (0: off; the"
                                       " next free one is taken when in use)")
    dashboard_metrics_port: int = setting(0, _port, "a second dashboard port serving only /metrics, without sign-in"
                                          " (0: off; /metrics on the dashboard's own port needs system:view)")

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
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


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

"""Every error AffectWatch raises on purpose, in one module."""

from __future__ import annotations


class AffectWatchError(Exception):
    """Base of all AffectWatch errors; the message is meant for a person."""


class ConfigError(AffectWatchError):
    """A setting is missing or malformed; the message names the variable."""


class LabelError(AffectWatchError):
    """A label or class folder that maps onto none of the eight labels."""


class SourceError(AffectWatchError):
    """A camera source that cannot be used, with the reason."""


class FrameError(AffectWatchError):
    """A frame that cannot be decoded or is not an image we can process."""


class ModelError(AffectWatchError):
    """A model file or its metadata is missing, unsafe or inconsistent."""


class NotFoundError(AffectWatchError):
    """A camera, resident or other record that does not exist."""


class MigrationError(AffectWatchError):
    """A migration failed or the recorded history does not match the files."""


class DatabaseUnavailable(AffectWatchError):
    """Postgres could not be reached; the message says where, never the password."""


class ValidationError(AffectWatchError):
    """A value a person entered that cannot be accepted (empty name, rate out of range, a duplicate name)."""


class CaptureError(AffectWatchError):
    """A camera that cannot be opened or read right now (the producer retries it with back-off)."""


class AuthError(AffectWatchError):
    """A sign-in that failed, or an account that may not do what it asked."""


class ThrottledError(AuthError):
    """Too many failed sign-ins; the message says when to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FieldErrors(ValidationError):
    """Input from a dashboard form or the API that is not acceptable; `errors` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class JobRefused(AffectWatchError):
    """A queued job a worker will not run: its function is not on the allowlist, or it asks for callbacks."""


class WorkerError(AffectWatchError):
    """The worker process cannot run a job: models not loaded here, or a forked child of the process that did."""


class DataError(AffectWatchError):
    """A training or evaluation folder that holds nothing usable (no images, no faces, no scorable labels)."""


class AlertStateError(ValidationError):
    """An alert change that its state forbids: acknowledging a resolved alert, resolving one twice."""


class DeliveryError(AffectWatchError):
    """An alert that could not be delivered to a webhook or by email; the message gives the reason."""

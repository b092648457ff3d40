"""Marshmallow schemas of what /api/v1 takes and answers, from which the OpenAPI document is generated
(dashboard.api.openapi) and against which the tests check real answers (tests/test_openapi.py).

A schema with `unknown = INCLUDE` lists the fields always there and allows more (history series, whose
keys follow the labels); every other answer has exactly the fields named.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate

from affectwatch.accounts import ROLES
from affectwatch.labels import LABELS
from dashboard.roles import ALL_PERMISSIONS

Str = fields.String
Int = fields.Integer
Num = fields.Float
Bool = fields.Boolean
Time = fields.DateTime


def maybe(field: type[fields.Field], **kwargs: Any) -> fields.Field:  # type: ignore[type-arg]
    """A field that is always present and may be null."""
    return field(required=True, allow_none=True, **kwargs)


def always(field: type[fields.Field], **kwargs: Any) -> fields.Field:  # type: ignore[type-arg]
    return field(required=True, **kwargs)


class Problem(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = always(Str, metadata={"description": "about:blank: the status says what kind of problem"})
    title = always(Str, metadata={"description": "the HTTP status's phrase"})
    status = always(Int)
    detail = always(Str, metadata={"description": "what went wrong, for a person"})
    error = always(Str, metadata={"description": "the same as detail (for clients written before)"})
    errors = fields.Dict(keys=Str(), values=Str(), metadata={"description": "field name: what is wrong with it"})
    retry_after = Int(metadata={"description": "seconds to wait (429)"})


class PageFields(Schema):
    total = always(Int, metadata={"description": "items matching the filters, on every page together"})
    limit = always(Int)
    next_cursor = maybe(Str, metadata={"description": "pass as cursor for the next page; null on the last"})


class Alert(Schema):
    id = always(Int)
    kind = always(Str, validate=validate.OneOf(["expression", "camera_offline"]))
    state = always(Str, validate=validate.OneOf(["open", "acknowledged", "resolved"]))
    resident_id = maybe(Int)
    resident_name = maybe(Str)
    resident_room = maybe(Str)
    camera_id = maybe(Int)
    camera_name = maybe(Str)
    window_start = always(Time)
    window_end = always(Time)
    started_at = always(Time)
    n_faces = maybe(Int)
    negative_share = maybe(Num)
    threshold = maybe(Num)
    baseline_share = maybe(Num)
    dominant_expression = maybe(Str)
    peak_share = maybe(Num)
    peak_at = maybe(Time)
    recovered_at = maybe(Time)
    decided_until = maybe(Time)
    opened_at = always(Time)
    acknowledged_at = maybe(Time)
    acknowledged_by = maybe(Str)
    ack_share = maybe(Num)
    resolved_at = maybe(Time)
    resolve_reason = maybe(Str)
    updated_at = always(Time)
    summary = always(Str)


class AlertPage(PageFields):
    alerts = always(fields.List, cls_or_instance=fields.Nested(Alert))


class AlertEvent(Schema):
    id = always(Int)
    alert_id = always(Int)
    kind = always(Str)
    at = always(Time)
    user_id = maybe(Int)
    actor = maybe(Str)
    note = maybe(Str)
    details = maybe(fields.Dict)


class AlertDetail(Alert):
    events = always(fields.List, cls_or_instance=fields.Nested(AlertEvent))
    snapshot_expires = maybe(Time, metadata={"description": "when its face-crop snapshot is deleted; null: none"})


class AlertFeed(Schema):
    last_id = maybe(Int, metadata={"description": "pass as `after` on the next call"})
    open_count = always(Int)
    active_count = always(Int)
    alerts = always(fields.List, cls_or_instance=fields.Nested(Alert))


class Camera(Schema):
    id = always(Int)
    name = always(Str)
    source = always(Str, metadata={"description": "the source, passwords hidden"})
    location = always(Str)
    sample_fps = always(Num)
    enabled = always(Bool)
    resident_id = maybe(Int, metadata={"description": "the main resident (the first it watches)"})
    resident = maybe(Str)
    resident_ids = always(fields.List, cls_or_instance=Int(), metadata={"description": "every resident it watches"})
    residents = always(fields.List, cls_or_instance=Str())
    identity = always(Str, metadata={"description": "whose faces count: single person, or identifies N of M"})
    state = always(Str, validate=validate.OneOf(["disabled", "waiting", "silent", "starting", "online", "offline",
                                                 "ended"]))
    last_frame_at = maybe(Time)
    last_frame_age_s = maybe(Num)
    fps = always(Num)
    frames_sent = always(Int)
    frames_dropped = always(Int)
    errors = always(Int)
    last_error = maybe(Str)
    status_updated_at = maybe(Time)


class CameraPage(PageFields):
    cameras = always(fields.List, cls_or_instance=fields.Nested(Camera))


class Shot(Schema):
    ok = always(Bool)
    error = always(Str)
    jpeg_base64 = always(Str)
    width = always(Int)
    height = always(Int)
    took_ms = always(Num)


class CameraRef(Schema):
    id = always(Int)
    name = always(Str)


class Resident(Schema):
    id = always(Int)
    name = always(Str)
    room = always(Str)
    monitored = always(Bool)
    created_at = always(Time)
    updated_at = always(Time)
    paused_until = maybe(Time)
    pause_reason = maybe(Str)
    cameras = always(fields.List, cls_or_instance=fields.Nested(CameraRef))


class ResidentPage(PageFields):
    residents = always(fields.List, cls_or_instance=fields.Nested(Resident))


class Pause(Schema):
    id = always(Int)
    resident_id = always(Int)
    starts_at = always(Time)
    ends_at = always(Time)
    reason = always(Str, validate=validate.OneOf(["care", "visit", "privacy", "other"]))
    note = always(Str)
    created_by = maybe(Int)
    created_at = always(Time)


class Thresholds(Schema):
    window_seconds = maybe(Int)
    negative_share = maybe(Num)
    min_faces = maybe(Int)
    cooldown_seconds = maybe(Int)
    close_share = maybe(Num)
    baseline = maybe(Bool)
    baseline_margin = maybe(Num)
    offline_seconds = maybe(Int)
    min_span_seconds = maybe(Int)
    min_minutes = maybe(Int)
    updated_at = maybe(Time)


class Enrolment(Schema):
    """What is kept of the resident's face enrolment (templates, never photos) and its consent."""

    resident_id = always(Int)
    templates = always(Int)
    first_taken_at = maybe(Time)
    last_taken_at = maybe(Time)
    model = maybe(Str)
    consent_by = maybe(Str)
    consent_at = maybe(Time)
    on_behalf_of = maybe(Str)


class ResidentDetail(Resident):
    pauses = always(fields.List, cls_or_instance=fields.Nested(Pause))
    thresholds = always(fields.Nested, nested=Thresholds)
    enrolment = always(fields.Nested, nested=Enrolment)


class ResidentWithDefaults(ResidentDetail):
    threshold_defaults = always(fields.Dict, metadata={"description": "the configured value of each threshold"})


class PauseCreated(Schema):
    id = always(Int)
    pauses = always(fields.List, cls_or_instance=fields.Nested(Pause))


class ThresholdsAnswer(Schema):
    overrides = always(fields.Nested, nested=Thresholds)
    defaults = always(fields.Dict)


class HistoryResident(Schema):
    id = always(Int)
    name = always(Str)
    room = always(Str)


class History(Schema):
    class Meta:
        unknown = INCLUDE

    resident = always(fields.Nested, nested=HistoryResident)
    from_ = always(Time, data_key="from")
    to = always(Time)
    bucket = always(Str, validate=validate.OneOf(["hour", "day"]))
    timezone = always(Str)
    labels = always(fields.List, cls_or_instance=Str(validate=validate.OneOf(LABELS)))
    aggregates_refreshed_at = maybe(Time)
    uncounted = always(Int, metadata={"description": "faces in the range the alert rule did not count (not worth "
                                                     "reading: too small, blurred, turned away, weakly detected or "
                                                     "unsure); the counts and shares leave them out"})


class System(Schema):
    class Meta:
        unknown = INCLUDE

    queue = always(Str)
    queued = always(Int)
    queue_max = always(Int)
    workers = always(fields.List, cls_or_instance=fields.Dict())
    failed_count = always(Int)
    frames_per_second = always(Num)
    faces_per_second = always(Num)
    mean_latency_ms = maybe(Num)
    last_processed_at = maybe(Time)
    failed = always(fields.List, cls_or_instance=fields.Dict())


class Requeued(Schema):
    requeued = always(Str)


class User(Schema):
    id = always(Int)
    username = always(Str)
    display_name = always(Str)
    role = always(Str, validate=validate.OneOf(ROLES))
    active = always(Bool)
    last_login_at = maybe(Time)
    created_at = always(Time)
    updated_at = always(Time)


class UserPage(PageFields):
    users = always(fields.List, cls_or_instance=fields.Nested(User))


class SessionUser(Schema):
    id = always(Int)
    username = always(Str)
    display_name = always(Str)
    role = always(Str, validate=validate.OneOf(ROLES))
    permissions = always(fields.List, cls_or_instance=Str(validate=validate.OneOf(sorted(ALL_PERMISSIONS))))


class Session(Schema):
    user = maybe(fields.Nested, nested=SessionUser)
    csrf_token = always(Str, metadata={"description": "send as X-CSRFToken on every change made with the cookie"})


class Token(Schema):
    id = always(Int)
    name = always(Str)
    prefix = always(Str, metadata={"description": "the token's first characters, to tell tokens apart"})
    user_id = always(Int)
    username = always(Str)
    state = always(Str, validate=validate.OneOf(["active", "revoked", "expired"]))
    created_at = always(Time)
    expires_at = maybe(Time)
    last_used_at = maybe(Time)
    revoked_at = maybe(Time)


class TokenCreated(Token):
    token = always(Str, metadata={"description": "the secret: shown this once, send as Authorization: Bearer"})


class TokenPage(PageFields):
    tokens = always(fields.List, cls_or_instance=fields.Nested(Token))


class OpenAPIDocument(Schema):
    class Meta:
        unknown = INCLUDE

    openapi = always(Str)
    paths = always(fields.Dict)


# ---- what the API takes --------------------------------------------------------------------------------------------

class CameraIn(Schema):
    name = Str()
    source = Str(metadata={"description": "rtsp/http(s) URL, device, video file or image folder"})
    location = Str()
    sample_fps = Num(validate=validate.Range(0, 30, min_inclusive=False))
    enabled = Bool()
    resident_id = Int(allow_none=True, validate=validate.Range(1))
    resident_ids = fields.List(Int(validate=validate.Range(1)),
                               metadata={"description": "every resident it watches, the first its main one"})


class SourceIn(Schema):
    source = Str(required=True)


class ResidentIn(Schema):
    name = Str()
    room = Str()
    monitored = Bool()
    camera_ids = fields.List(Int(validate=validate.Range(1)),
                             metadata={"description": "exactly the cameras watching this resident"})


class PauseIn(Schema):
    """Give minutes (from starts_at, default now) or ends_at."""

    reason = Str(validate=validate.OneOf(["care", "visit", "privacy", "other"]))
    note = Str()
    minutes = Int(validate=validate.Range(1))
    starts_at = Time()
    ends_at = Time()


class ThresholdsIn(Schema):
    """null or absent: use the configured default."""

    window_seconds = Int(allow_none=True)
    negative_share = Num(allow_none=True)
    min_faces = Int(allow_none=True)
    cooldown_seconds = Int(allow_none=True)
    close_share = Num(allow_none=True)
    baseline = Bool(allow_none=True)
    baseline_margin = Num(allow_none=True)
    offline_seconds = Int(allow_none=True)
    min_span_seconds = Int(allow_none=True)
    min_minutes = Int(allow_none=True)


class UserIn(Schema):
    username = Str()
    display_name = Str()
    password = Str(validate=validate.Length(min=10))
    role = Str(validate=validate.OneOf(ROLES))
    active = Bool()


class NoteIn(Schema):
    note = Str(validate=validate.Length(max=2000))


class SignIn(Schema):
    username = Str(required=True)
    password = Str(required=True)


class TokenIn(Schema):
    name = Str(required=True, validate=validate.Length(1, 100), metadata={"description": "what or who uses it"})
    expires_in_days = Int(validate=validate.Range(1, 3650), metadata={"description": "absent: never expires"})


# ---- query parameters ------------------------------------------------------------------------------------------------

class PageQuery(Schema):
    limit = Int(validate=validate.Range(1, 1000), metadata={"description": "items per page (default 100)"})
    cursor = Str(metadata={"description": "next_cursor of the previous page"})


class RangeQuery(Schema):
    from_ = Str(data_key="from", metadata={"description": "date (YYYY-MM-DD) or date-time; default: 7 days before"
                                                          " 'to'"})
    to = Str(metadata={"description": "date (whole day included) or date-time; default: now"})


class AlertQuery(PageQuery, RangeQuery):
    state = Str(validate=validate.OneOf(["active", "open", "acknowledged", "resolved", "all"]),
                metadata={"description": "default: active (open or acknowledged)"})
    resident_id = Int(validate=validate.Range(1))
    camera_id = Int(validate=validate.Range(1))


class FeedQuery(Schema):
    after = Int(metadata={"description": "last_id of the previous answer; omit on the first call"})


class HistoryQuery(RangeQuery):
    bucket = Str(validate=validate.OneOf(["hour", "day"]),
                 metadata={"description": "default: hour up to 3 days, else day"})

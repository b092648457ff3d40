"""Queue payloads in bulk (hypothesis): junk where a frame job's arguments should be is rejected frame by
frame with the reason (FrameError), never another exception, and good frames beside it still parse."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affectwatch.exceptions import FrameError
from affectwatch.queue import FramePayload
from tests.fuzzing import examples
from worker.jobs import parse_payloads

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
KEYS = ("frame_id", "camera_id", "captured_at", "enqueued_at", "jpeg")


def good(camera_id: int = 3) -> dict[str, Any]:
    now = datetime.now(UTC)
    return FramePayload(uuid.uuid4(), camera_id, now, now, b"\xff\xd8\xff\xd9").to_json()


@st.composite
def near_misses(draw: st.DrawFn) -> dict[str, Any]:
    """A good payload with some fields replaced by junk and some removed."""
    raw = good()
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True)):
        raw[key] = draw(json_values)
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=2)):
        raw.pop(key, None)
    return raw


@settings(max_examples=examples(200), deadline=None)
@given(json_values)
def test_junk_is_refused_with_a_frame_error(raw: Any) -> None:
    try:
        FramePayload.from_json(raw)
    except FrameError as exc:
        assert str(exc)


@settings(max_examples=examples(200), deadline=None)
@given(near_misses())
def test_payloads_with_junk_fields_are_refused_or_parsed_exactly(raw: dict[str, Any]) -> None:
    try:
        p = FramePayload.from_json(raw)
    except FrameError as exc:
        assert str(exc)
        return
    assert p.captured_at.tzinfo is not None and p.enqueued_at.tzinfo is not None
    assert base64.b64encode(p.jpeg).decode() == str(raw["jpeg"])


GOOD, OTHER_CAMERA = good(3), good(4)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.one_of(json_values, near_misses(), st.just(GOOD), st.just(OTHER_CAMERA)), max_size=6))
def test_a_job_of_junk_rejects_each_bad_frame_and_keeps_the_good(frames: list[Any]) -> None:
    payloads, rejected = parse_payloads(frames, 3)
    assert len(payloads) + len(rejected) == len(frames)
    assert all(r.reason for r in rejected) and all(p.camera_id == 3 for p in payloads)
    kept = [str(p.frame_id) for p in payloads]
    assert kept.count(GOOD["frame_id"]) == sum(1 for f in frames if f is GOOD)
    assert OTHER_CAMERA["frame_id"] not in kept


@pytest.mark.parametrize("frames", [None, "frames", 7, {"frame_id": "x"}])
def test_a_job_whose_frames_are_not_a_list_is_refused(frames: Any) -> None:
    with pytest.raises(FrameError, match="must be a list"):
        parse_payloads(frames, 3)

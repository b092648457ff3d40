"""Resident identity, measured: how well dlib's ResNet templates tell an enrolled resident from other people,
through the worker's own path, and what identity adds to a frame's cost.

Accuracy, on the named people of a folder of photographs whose file names carry the person
(`../shared/datasets/wild_val/<label>/<Person_Name>_<n>.jpg`; none of them seen by the embedder's authors
as far as we know, and never by this project): every photo is decoded and detected exactly as the worker
does (worker.pipeline.decode, the worker's MTCNN at the configured settings), and the largest face is
described by the worker's embedder. A person with at least --min-photos photos is enrolled from their
first 5 photos that show exactly one face (as `affectwatch resident enroll` demands); their other photos
are genuine probes. People with fewer photos are impostors only. Then

- verification: every probe against every enrolled person's 5 templates (nearest template), genuine
  pairs against impostor pairs: the true-accept rate at 1% and 0.1% false-accept, and their thresholds;
- the bar, at the threshold (--threshold, default AFFECTWATCH_IDENTITY_THRESHOLD), each enrolled person as
  the only enrolled resident of a camera: the share of their other photos attributed to them (a photo
  whose face was not found counts as not attributed), and the share of other people's faces attributed
  to them (goal: >= 80% and <= 5%).

Cost, in the same process: jobs of the configured batch through Pipeline.analyse (decode, detect,
identify, classify) with identity off (no gallery) and on (a gallery of two enrolled people): CPU time per
frame. Frames are bench/pipeline.py's scenes (640x480, one to six real faces), each layout held for
--hold frames as people in a room stay put; "every frame" matches every face of every frame (no tracker).

    AFFECTWATCH_TORCH_THREADS=1 .venv/bin/python bench/identity.py --photos ../shared/datasets/wild_val
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from affectwatch.config import Config
from affectwatch.exceptions import FrameError
from affectwatch.queue import FramePayload
from bench.pipeline import scenes
from worker.identity import Gallery, Tracker
from worker.models.detector import largest
from worker.pipeline import IdentityJob, Pipeline, decode

ENROL = 5
NAME = re.compile(r"^(.+?)_?(\d+)$")
Vec = npt.NDArray[np.float32]


@dataclass
class Photo:
    person: str
    path: Path
    faces: int = 0
    descriptor: Vec | None = None


def people(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(root.rglob("*")):
        m = NAME.match(path.stem)
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"} and m:
            found[m[1]].append(path)
    return {p: sorted(v, key=lambda x: (int(NAME.match(x.stem)[2]), str(x))) for p, v in found.items()}  # type: ignore[index]


def describe(pipeline: Pipeline, photo: Photo) -> Photo:
    """The worker's path: decode the file's bytes, MTCNN at the configured settings, the largest face embedded."""
    try:
        rgb = decode(photo.path.read_bytes())
    except FrameError:
        return photo
    faces = pipeline.detect(rgb)
    photo.faces = len(faces)
    face = largest(faces)
    if face is not None:
        photo.descriptor = pipeline.embed(rgb, [face.box])[0]
    return photo


def nearest(templates: Vec, d: Vec) -> float:
    return float(np.min(np.linalg.norm(templates - d[None, :], axis=1)))


@dataclass
class Selection:
    enrolment: dict[str, list[Path]]  # person -> the photos they were enrolled from
    probes: dict[str, list[Path]]  # person -> their other photos
    impostors: list[Path]


def accuracy(pipeline: Pipeline, args: argparse.Namespace) -> Selection:
    groups = people(args.photos)
    enrolled_names = sorted((p for p, v in groups.items() if len(v) >= args.min_photos),
                            key=lambda p: -len(groups[p]))[: args.max_people]
    rng = np.random.default_rng(0)
    others = sorted(p for p, v in groups.items() if len(v) < args.min_photos)
    impostor_paths = [groups[p][0] for p in others]
    impostor_paths = [impostor_paths[i] for i in sorted(rng.permutation(len(impostor_paths))[: args.impostors])]
    print(f"{len(groups)} named people in {args.photos}; enrolling {len(enrolled_names)} with >= {args.min_photos} "
          f"photos (at most {ENROL} + {args.max_probes} each), {len(impostor_paths)} impostor photos of "
          f"{len(others)} people with fewer", flush=True)
    started = time.perf_counter()
    galleries: dict[str, Vec] = {}
    probes: list[Photo] = []
    selection = Selection({}, {}, impostor_paths)
    skipped = 0
    for name in enrolled_names:
        photos = iter(groups[name])
        chosen: list[Vec] = []
        used: list[Path] = []
        for path in photos:
            p = describe(pipeline, Photo(name, path))
            if p.faces == 1 and p.descriptor is not None:
                chosen.append(p.descriptor)
                used.append(path)
            else:
                skipped += 1  # refused for enrolment: no face or several
            if len(chosen) == ENROL:
                break
        if len(chosen) < ENROL:
            print(f"  {name}: fewer than {ENROL} photos with one face; not enrolled")
            continue
        galleries[name] = np.stack(chosen)
        selection.enrolment[name] = used
        selection.probes[name] = list(photos)[: args.max_probes]
        probes += [describe(pipeline, Photo(name, path)) for path in selection.probes[name]]
    impostors = [describe(pipeline, Photo("", path)) for path in impostor_paths]
    print(f"  described in {time.perf_counter() - started:.0f} s; {skipped} photo(s) refused for enrolment",
          flush=True)
    genuine = [nearest(galleries[p.person], p.descriptor) for p in probes
               if p.descriptor is not None and p.person in galleries]
    impostor: list[float] = []
    for p in [*probes, *impostors]:
        if p.descriptor is not None:
            impostor += [nearest(g, p.descriptor) for name, g in galleries.items() if name != p.person]
    g, imp = np.asarray(genuine), np.asarray(impostor)
    print(f"\nverification: {len(g)} genuine pairs ({len(galleries)} people), {len(imp)} impostor pairs")
    print(f"  genuine distance median {np.median(g):.3f}; impostor median {np.median(imp):.3f}")
    for far in (0.01, 0.001):
        thr = float(np.quantile(imp, far))
        print(f"  at {far:.1%} false accept: threshold {thr:.3f}, true-accept rate {np.mean(g < thr):.1%}")
    print("  threshold: true accept / false accept")
    for thr in (0.40, 0.45, 0.50, 0.55, 0.60):
        print(f"    {thr:.2f}: {np.mean(g < thr):.1%} / {np.mean(imp < thr):.2%}")
    thr = float(args.threshold)
    own_total = sum(1 for p in probes if p.person in galleries)
    own_hit = sum(1 for p in probes if p.person in galleries and p.descriptor is not None
                  and nearest(galleries[p.person], p.descriptor) < thr)
    others_faces = sum(1 for _ in impostor)
    others_hit = int(np.sum(imp < thr))
    no_face = sum(1 for p in probes if p.person in galleries and p.descriptor is None)
    print(f"\nthe bar at threshold {thr:.2f} (each enrolled person the only enrolled resident of a camera):")
    print(f"  their other photos attributed to them: {own_hit}/{own_total} = {own_hit / own_total:.1%} "
          f"(goal >= 80%; {no_face} without a face found count as missed)")
    print(f"  other people's faces attributed to them: {others_hit}/{others_faces} = "
          f"{others_hit / others_faces:.2%} (goal <= 5%)")
    return selection


def end_to_end(pipeline: Pipeline, selection: Selection, args: argparse.Namespace, tmp: Path) -> None:
    """The bar through the real producer and worker: per person, a resident enrolled from their 5 photos
    (worker.enrolment, as `resident enroll`), and a camera on a folder of their other photos interleaved
    with as many photos of people not enrolled, played by the producer (JPEG at the configured quality,
    Redis), analysed by an in-process FrameWorker; then the face rows in Postgres. The tracker is off
    (recheck 0): the folder's photos are unrelated pictures, not a video."""
    from affectwatch.audit import Actor
    from affectwatch.db import connect, transaction
    from affectwatch.queries.camera_status import get_status
    from affectwatch.queries.cameras import add_camera
    from affectwatch.queries.frames import faces_of_camera, frames_of_camera
    from affectwatch.queries.identity import Consent
    from affectwatch.queries.residents import add_resident
    from affectwatch.queue import redis_connection
    from bench.pipeline import drop_database, scratch_database
    from producer.supervisor import Supervisor
    from worker import enrolment, jobs
    from worker.runner import build_worker

    names = list(selection.enrolment)[: args.e2e]
    cfg = replace(scratch_database(pipeline.config), loop_files=False, frame_ttl=7200, queue_max=100_000,
                  batch_frames=4, batch_seconds=1.0, camera_poll_seconds=0.5, identity_recheck_seconds=0.0)
    conn = redis_connection(cfg)
    try:
        enroller = enrolment.Enroller(cfg)
        enroller.detector, enroller.embedder = pipeline.detector, pipeline.embedder
        cameras: dict[int, tuple[int, list[bool]]] = {}  # camera -> (resident, own photo? per frame in order)
        others = iter(selection.impostors * 2)
        for name in names:
            folder = tmp / name
            folder.mkdir()
            order: list[bool] = []
            for i, own in enumerate(selection.probes[name]):
                for j, (path, mine) in enumerate(((own, True), (next(others), False))):
                    (folder / f"{2 * i + j:04d}{path.suffix}").symlink_to(path.resolve())
                    order.append(mine)
            with transaction(cfg) as db:
                resident = add_resident(db, name.replace("_", " ")).id
                consent = Consent(name, datetime.now(UTC), "the resident", "bench")
                enrolment.store(db, resident, enroller.templates(enrolment.read_photos(selection.enrolment[name])),
                                consent, Actor("bench"))
                camera = add_camera(db, name, str(folder), sample_fps=10.0, resident_ids=[resident]).id
            cameras[camera] = (resident, order)
        stop = threading.Event()
        producer = threading.Thread(target=Supervisor(cfg, conn, status_seconds=0.5).run, args=(stop,), daemon=True)
        producer.start()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with connect(cfg) as db:
                states = [get_status(db, c) for c in cameras]
            if all(st is not None and st.state == "ended" for st in states):
                break
            time.sleep(0.5)
        stop.set()
        producer.join(30)
        jobs.install(pipeline.with_config(cfg))
        build_worker(cfg, conn).work(burst=True, logging_level="WARNING")
        mine_hit = [0, 0]
        theirs_hit = [0, 0]
        lost = 0
        with connect(cfg) as db:
            for camera, (resident, order) in cameras.items():
                frames = frames_of_camera(db, camera)
                lost += len(order) - len(frames)
                hits: dict[uuid.UUID, bool] = defaultdict(bool)
                for face in faces_of_camera(db, camera):
                    hits[face["frame_id"]] |= face["resident_id"] == resident
                for frame, mine in zip(frames, order, strict=False):
                    tally = mine_hit if mine else theirs_hit
                    tally[0] += hits[frame["frame_id"]]
                    tally[1] += 1
        print(f"\nthe bar through the producer and the worker ({len(names)} residents, one camera each; "
              f"threshold {cfg.identity_threshold:.2f}; {lost} frame(s) not recorded):")
        print(f"  their other photos attributed to them: {mine_hit[0]}/{mine_hit[1]} = "
              f"{mine_hit[0] / max(1, mine_hit[1]):.1%} (goal >= 80%)")
        print(f"  other people's photos attributed to them: {theirs_hit[0]}/{theirs_hit[1]} = "
              f"{theirs_hit[0] / max(1, theirs_hit[1]):.1%} (goal <= 5%)")
    finally:
        frame_queue_clear(cfg, conn)
        drop_database(cfg)


def frame_queue_clear(config: Config, conn: object) -> None:
    from affectwatch.queue import frame_queue

    frame_queue(config, conn).delete(delete_jobs=True)  # type: ignore[arg-type]


def frames_for_cost(n: int, hold: int) -> list[bytes]:
    layouts = scenes((640, 480), max(1, n // hold + 1))
    return [layouts[i // hold].jpeg for i in range(n)]


def cost(pipeline: Pipeline, args: argparse.Namespace) -> None:
    """CPU ms per frame through Pipeline.analyse, identity off and on, interleaved rounds; medians."""
    frames = frames_for_cost(args.frames, args.hold)
    d = pipeline.embed(decode(frames[0]), [f.box for f in pipeline.detect(decode(frames[0]))][:1])[0]
    other = np.roll(d, 1)  # a second resident, far from the first
    gallery = Gallery.of([(i, 1 if i < ENROL else 2, (d if i < ENROL else other).tolist()) for i in range(2 * ENROL)])
    batch = pipeline.config.batch_frames
    every = replace(pipeline.config, identity_recheck_seconds=0.0)
    ways = {"off": (pipeline, None), "on": (pipeline, gallery),
            "every frame": (pipeline.with_config(every), gallery)}
    per_frame: dict[str, list[float]] = defaultdict(list)
    faces = 0
    for rnd in range(args.rounds):
        for name, (pipe, gal) in ways.items():
            pipe.tracker.cameras.clear()
            camera = 1000 + rnd
            start = datetime.now(UTC)
            payloads = [FramePayload(uuid.uuid4(), camera, start + timedelta(seconds=i / 2), start, jpeg)
                        for i, jpeg in enumerate(frames)]
            job = None if gal is None else IdentityJob(camera, gal)
            cpu = time.process_time()
            for i in range(0, len(payloads), batch):
                analysis = pipe.analyse(payloads[i : i + batch], job)
                faces += sum(len(f.faces) for f in analysis.frames) if name == "off" else 0
            per_frame[name].append((time.process_time() - cpu) * 1e3 / len(frames))
    off = statistics.median(per_frame["off"])
    print(f"\ncost per frame (640x480, {faces / args.rounds / len(frames):.1f} faces a frame, each layout held "
          f"{args.hold} frames at 2 frames/s, jobs of {batch}; CPU ms, median of {args.rounds} interleaved rounds):")
    for name in ways:
        ms = statistics.median(per_frame[name])
        print(f"  identity {name:>11}: {ms:7.1f} ms  ({ms / off:.2f}x of off; goal for on: <= 1.20x)")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=Path, help="folder of photos named <Person_Name>_<n>.jpg (any depth)")
    p.add_argument("--min-photos", type=int, default=8, help="photos a person needs to be enrolled (default 8)")
    p.add_argument("--max-people", type=int, default=40, help="enrolled people at most (default 40)")
    p.add_argument("--max-probes", type=int, default=6, help="other photos of each enrolled person (default 6)")
    p.add_argument("--impostors", type=int, default=300, help="photos of not-enrolled people (default 300)")
    p.add_argument("--threshold", type=float, help="default: AFFECTWATCH_IDENTITY_THRESHOLD")
    p.add_argument("--frames", type=int, default=120,
                   help="frames per cost round (default 120: six layouts of one to six faces)")
    p.add_argument("--hold", type=int, default=20,
                   help="frames each layout of faces is held (default 20: 10 s at 2 frames/s)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--e2e", type=int, default=0,
                   help="also run this many enrolled people through the real producer and worker (default 0)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    config: Config = Config.from_env()
    args.threshold = config.identity_threshold if args.threshold is None else args.threshold
    pipeline = Pipeline.load(config, args.device)
    pipeline.tracker = Tracker(args.threshold, config.identity_recheck_seconds)
    print(f"embedder {pipeline.embedder.name}; MTCNN min face {config.min_face_size}, threshold "
          f"{config.face_threshold}; identity threshold {args.threshold}, recheck {config.identity_recheck_seconds} s")
    if args.photos:
        selection = accuracy(pipeline, args)
        if args.e2e:
            with tempfile.TemporaryDirectory() as tmp:
                end_to_end(pipeline, selection, args, Path(tmp))
    if args.rounds:
        cost(pipeline, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`affectwatch replay SOURCE`: try the alert rule and its settings on recorded footage before going live.

The footage runs through the worker's exact path (detection, classification, the quality gates) and the
live engine's rule code, on the footage's own clock, as fast as the CPU allows; nothing is written into
the home's history (worker.replay says how).
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from affectwatch.config import Config
from affectwatch.exceptions import ValidationError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="run a video file or image folder through the worker and the alert rule, "
                                      "writing nothing: which alerts would open")
    p.add_argument("source", help="a video file or a folder of images")
    p.add_argument("--fps", type=float, help="frames per second sampled (default: AFFECTWATCH_SAMPLE_FPS); an image "
                                             "folder's images are this far apart on the footage's clock")
    p.add_argument("--loop", type=int, default=1, help="play the footage this many times, the clock running on")
    p.add_argument("--resident", help="replay with this resident's overrides (name or id; read, never written)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: AFFECTWATCH_DEVICE)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(handler=run_replay)


def _clock(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run_replay(args: argparse.Namespace, config: Config) -> int:
    from affectwatch.sources import SourceKind, validate_source

    fps = config.sample_fps if args.fps is None else args.fps
    if not 0 < fps <= 60:
        raise ValidationError(f"--fps {fps:g} must lie in (0, 60]")
    if not 1 <= args.loop <= 10_000:
        raise ValidationError(f"--loop {args.loop} must lie between 1 and 10000")
    source = validate_source(args.source)
    if source.kind not in (SourceKind.FILE, SourceKind.FOLDER):
        raise ValidationError(f"replay reads a video file or an image folder, not a {source.kind.value}")
    from tqdm import tqdm

    from worker.pipeline import Pipeline
    from worker.replay import decide, footage_seconds, read, rule_for, sampled_frames

    replayed = rule_for(config, args.resident)
    rule, threshold, whose = replayed.rule, replayed.threshold, replayed.whose
    pipeline = Pipeline.load(config, args.device)
    total = footage_seconds(source, fps) * args.loop
    with tqdm(total=round(total, 1) or None, unit="s", desc="footage", disable=None) as bar:
        def progress(t: float) -> None:
            bar.update(round(t, 1) - bar.n)

        result = read(pipeline, sampled_frames(source, fps, args.loop), replayed.resident_id, progress,
                      replayed.gallery)
    result.alerts = decide(result, config, rule, threshold)
    print(f"{_clock(result.duration)} of footage, {result.frames} frames at {fps:g}/s: {len(result.faces)} faces,"
          f" {len(result.counted)} counted ({whose}: window {rule.window.total_seconds() / 60:g} min,"
          f" {rule.min_faces} faces over {rule.min_span.total_seconds() / 60:g} min in {rule.min_minutes} minutes,"
          f" open share {threshold:.2f})")
    if result.unknown:
        print(f"  not counted, someone else (not {args.resident}): {result.unknown}")
    for reason, n in sorted(result.uncounted().items()):
        print(f"  not counted, {reason}: {n}")
    for a in result.alerts:
        ends = f", recovers at {_clock(a.recovered_at)}" if a.recovered_at is not None else ""
        print(f"alert at {_clock(a.at)}: negative share {a.share:.2f} of {a.n_faces} faces, peak {a.peak_share:.2f},"
              f" {a.dominant_expression or '-'}{ends}")
    if not result.alerts:
        print("no alert would open")
    if args.json:
        print(json.dumps(result.as_json()))
    return 0

"""`affectwatch producer`: capture every enabled camera and enqueue frames for the workers."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import TypeAlias

import redis

from affectwatch import telemetry
from affectwatch.config import Config
from affectwatch.queue import redis_connection

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
log = logging.getLogger(__name__)


def register(sub: Sub) -> None:
    p = sub.add_parser("producer", help="capture the enabled cameras and enqueue their frames (until SIGTERM/SIGINT)")
    p.add_argument("--duration", type=_seconds, default=0.0, help="stop after this many seconds (0: run until stopped)")
    p.add_argument("--status-seconds", type=_seconds, default=2.0, help="how often camera health is written")
    p.set_defaults(handler=run)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1e7:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds")
    return value


def run(args: argparse.Namespace, config: Config) -> int:
    import cv2

    from producer.supervisor import Supervisor

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our own log lines say what failed
    stop = threading.Event()
    _stop_on_signals(stop)
    if args.duration > 0:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True
        timer.start()
    telemetry.serve("producer", config.producer_metrics_port, config.metrics_host)
    conn = redis_connection(config)
    try:
        conn.ping()
    except redis.RedisError as exc:
        log.error("Redis is unreachable (frames will be dropped and counted until it is back): %s", exc)
    Supervisor(config, conn, status_seconds=args.status_seconds).run(stop)
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)

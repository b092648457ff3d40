"""What the dashboard's request metrics cost: requests answered per second with the metric hooks
(dashboard.telemetry: a counter and a histogram per request) against the same app with the hooks taken
out, in the same process, alternating rounds so that drift hits both alike.

/healthz is the worst case (no database, no template: the hooks are the largest share of its work);
no database or Redis is needed.

    .venv/bin/python bench/telemetry.py [--requests 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from flask import Flask

from affectwatch.config import Config
from dashboard import create_app, telemetry


def rate(app: Flask, n: int) -> float:
    client = app.test_client()
    start = time.perf_counter()
    for _ in range(n):
        assert client.get("/healthz").status_code == 200
    return n / (time.perf_counter() - start)


def without_metrics(app: Flask) -> Flask:
    app.before_request_funcs[None].remove(telemetry._started)
    app.after_request_funcs[None].remove(telemetry._answered)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    config = Config.from_env()
    measured, baseline = create_app(config), without_metrics(create_app(config))
    rate(measured, 200), rate(baseline, 200)  # warm up
    with_hooks, without = [], []
    for _ in range(args.rounds):
        with_hooks.append(rate(measured, args.requests))
        without.append(rate(baseline, args.requests))
    a, b = statistics.median(with_hooks), statistics.median(without)
    print(f"GET /healthz, {args.rounds} rounds of {args.requests} requests (Flask test client, one thread)")
    print(f"  with request metrics:    {a:8.0f} requests/s (median)")
    print(f"  without (baseline):      {b:8.0f} requests/s (median)")
    print(f"  ratio with/without:      {a / b:.3f}  ({(1 / a - 1 / b) * 1e6:+.1f} µs per request)")


if __name__ == "__main__":
    main()

"""`affectwatch alerts list|show|ack|resolve|sweep|scheduler|deliver|webhook ...`."""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeAlias

from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import ValidationError
from affectwatch.queries import alerts as q

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: Sub) -> None:
    p = sub.add_parser("alerts", help="review alerts, run the alert scheduler and delivery worker, manage webhooks")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _list_parser(actions)
    _show_parser(actions)
    _change_parsers(actions)
    _run_parsers(actions)
    _webhook_parser(actions)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, indent=1)


def _list_parser(actions: Sub) -> None:
    p = actions.add_parser("list", help="alerts, newest first")
    p.add_argument("--state", action="append", choices=q.STATES, default=[], help="only these states (repeatable)")
    p.add_argument("--kind", choices=q.KINDS)
    p.add_argument("--resident", type=int, help="only this resident's (id)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=list_alerts)


def list_alerts(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        found = q.list_alerts(conn, states=args.state, kind=args.kind, resident_id=args.resident, limit=args.limit)
    if args.json:
        print(_json([asdict(a) for a in found]))
        return 0
    print(f"{'id':>5}  {'state':12}  {'opened (UTC)':16}  {'kind':14}  {'share':>5}  {'faces':>5}  resident / camera")
    for a in found:
        share = f"{a.negative_share:.2f}" if a.negative_share is not None else "-"
        print(f"{a.id:>5}  {a.state:12}  {a.opened_at.astimezone(UTC):%Y-%m-%d %H:%M}  {a.kind:14}  {share:>5}"
              f"  {a.n_faces if a.n_faces is not None else '-':>5}  {a.resident_name or '-'} / {a.camera_name or '-'}")
    return 0


def _show_parser(actions: Sub) -> None:
    p = actions.add_parser("show", help="one alert with everything that happened to it and its deliveries")
    p.add_argument("alert", type=int)
    p.set_defaults(handler=show)


def show(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        alert = q.get_alert(conn, args.alert)
        found = {"alert": asdict(alert), "events": [asdict(e) for e in q.alert_events(conn, alert.id)],
                 "deliveries": [asdict(d) for d in q.alert_deliveries(conn, alert.id)]}
    print(_json(found))
    return 0


def _change_parsers(actions: Sub) -> None:
    for name, handler, text in (("ack", acknowledge, "acknowledge an open alert"),
                                ("resolve", resolve, "resolve an alert by hand")):
        p = actions.add_parser(name, help=text)
        p.add_argument("alert", type=int)
        p.add_argument("--by", required=True, help="who (a name recorded with the change)")
        p.add_argument("--note", default="", help="what was done or seen")
        p.set_defaults(handler=handler)


def acknowledge(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        alert = q.acknowledge(conn, args.alert, actor=args.by, note=args.note)
    print(f"alert {alert.id} acknowledged by {alert.acknowledged_by}")
    return 0


def resolve(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        alert = q.resolve(conn, args.alert, actor=args.by, note=args.note)
    print(f"alert {alert.id} resolved: {alert.resolve_reason}")
    return 0


def _run_parsers(actions: Sub) -> None:
    p = actions.add_parser("sweep", help="one sweep: settle and resolve alerts, check cameras, queue deliveries")
    p.add_argument("--no-deliveries", action="store_true", help="leave deliveries for later (no Redis needed)")
    p.set_defaults(handler=sweep)
    p = actions.add_parser("scheduler", help="sweep every AFFECTWATCH_ALERT_SWEEP_SECONDS, queue deliveries at once"
                           " and send them (the delivery worker runs in this process too)")
    p.add_argument("--no-deliver", action="store_true", help="only sweep and queue; `alerts deliver` sends")
    p.set_defaults(handler=scheduler)
    p = actions.add_parser("deliver", help="the delivery worker: send webhooks and email from the alert queue")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.add_argument("--name", help="worker name (default: rq's)")
    p.set_defaults(handler=deliver)


def sweep(args: argparse.Namespace, config: Config) -> int:
    from affectwatch.queue import redis_connection
    from notifier.sweep import sweep as run

    connection = None if args.no_deliveries else redis_connection(config)
    report = run(config, connection, datetime.now(UTC))
    print(report)
    return 1 if report.failed else 0


def scheduler(args: argparse.Namespace, config: Config) -> int:
    """The sweep and dispatch loop in a thread; the delivery worker in the main thread (rq stops it
    cleanly on SIGTERM/SIGINT), or with --no-deliver, only the loop until a signal."""
    from notifier import delivery_worker
    from notifier.scheduler import run

    _serve_metrics(config)
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config, stop), name="alert-sweep", daemon=True)
    thread.start()
    try:
        if args.no_deliver:
            _wait_for_signal(stop)
        else:
            delivery_worker.run(config)
    finally:
        stop.set()
        thread.join(60)
    return 0


def _wait_for_signal(stop: threading.Event) -> None:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stop.wait()


def deliver(args: argparse.Namespace, config: Config) -> int:
    from notifier.delivery_worker import run

    _serve_metrics(config)
    run(config, burst=args.burst, name=args.name)
    return 0


def _serve_metrics(config: Config) -> None:
    """The scheduler and delivery workers' metrics; a second one on the host takes the next free port."""
    from affectwatch import telemetry
    from affectwatch.alerts import telemetry as _alert_metrics  # noqa: F401  (registers the alert counters)

    telemetry.serve("alerts", config.alerts_metrics_port, config.metrics_host, telemetry.WORKER_PORT_SPREAD)


def _webhook_parser(actions: Sub) -> None:
    p = actions.add_parser("webhook", help="the webhooks every alert change is posted to")
    hooks = p.add_subparsers(dest="webhook_action", required=True, metavar="ACTION")
    add = hooks.add_parser("add", help="register a webhook; prints its signing secret once when generated")
    add.add_argument("url")
    add.add_argument("--name", default="")
    add.add_argument("--secret-file", type=Path, help="file holding the HMAC secret (default: a new random one)")
    add.set_defaults(handler=webhook_add)
    hooks.add_parser("list", help="registered webhooks (secrets not shown)").set_defaults(handler=webhook_list)
    for name, handler in (("enable", webhook_enable), ("disable", webhook_disable), ("remove", webhook_remove)):
        c = hooks.add_parser(name, help=f"{name} a webhook")
        c.add_argument("webhook", type=int)
        c.set_defaults(handler=handler)


def webhook_add(args: argparse.Namespace, config: Config) -> int:
    secret = _read_secret(args.secret_file) if args.secret_file else secrets.token_hex(32)
    with transaction(config) as conn:
        hook = q.add_webhook(conn, args.url, secret, args.name)
    print(f"added webhook {hook.id} {hook.url}")
    if not args.secret_file:
        print(f"signing secret (shown once; give it to the receiver): {secret}")
    return 0


def _read_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ValidationError(f"cannot read the secret file {path}: {exc.strerror}") from exc


def webhook_list(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        hooks = q.list_webhooks(conn)
    print(f"{'id':>4}  {'enabled':7}  {'name':20}  url")
    for h in hooks:
        print(f"{h.id:>4}  {'yes' if h.enabled else 'no':7}  {h.name or '-':20}  {h.url}")
    for url in config.alert_webhook_urls:
        print(f"{'-':>4}  {'yes':7}  {'(configured)':20}  {url}")
    return 0


def webhook_enable(args: argparse.Namespace, config: Config) -> int:
    return _set_enabled(args.webhook, True, config)


def webhook_disable(args: argparse.Namespace, config: Config) -> int:
    return _set_enabled(args.webhook, False, config)


def _set_enabled(webhook_id: int, enabled: bool, config: Config) -> int:
    with transaction(config) as conn:
        hook = q.set_webhook_enabled(conn, webhook_id, enabled)
    print(f"webhook {hook.id} {'enabled' if enabled else 'disabled'}")
    return 0


def webhook_remove(args: argparse.Namespace, config: Config) -> int:
    with transaction(config) as conn:
        hook = q.remove_webhook(conn, args.webhook)
    print(f"removed webhook {hook.id} {hook.url}")
    return 0

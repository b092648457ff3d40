"""Delivering alert changes: signed webhooks retried with back-off through the alert queue, email over
SMTP, and the scheduler queuing deliveries as soon as a change is committed."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from psycopg.rows import dict_row
from rq import Retry
from rq.registry import FailedJobRegistry

from affectwatch.config import Config
from affectwatch.queries import alerts as q
from affectwatch.queue import DELIVER_ALERT_BEFORE
from notifier import delivery, delivery_worker, dispatch, scheduler
from tests.test_alerts_support import (
    add_camera,
    add_resident,
    alerts_of,
    base_time,
    jobs,
    rule_config,
    steps,
    stream,
    write_all,
)

SECRET = "s3cret-s3cret-s3cret"


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on loopback that checks each request's signature and payload, failing the
    first `fail` good requests with HTTP 500 (fail < 0: always)."""

    def __init__(self, fail: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.fail = fail
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/affectwatch?token=abc"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        stamp = self.headers["X-AffectWatch-Timestamp"]
        expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + data, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers["X-AffectWatch-Signature"])
        good = signed and abs(time.time() - int(stamp)) < 300
        self.server.requests.append({"at": time.monotonic(), "signed": signed, "body": json.loads(data),
                                     "event": self.headers["X-AffectWatch-Event"]})
        failing = self.server.fail < 0 or len(self.server.requests) <= self.server.fail
        self.send_response(401 if not good else 500 if failing else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def serve(fail: int) -> Iterator[Receiver]:
    server = Receiver(fail)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def flaky() -> Iterator[Receiver]:
    yield from serve(fail=2)


@pytest.fixture()
def broken() -> Iterator[Receiver]:
    yield from serve(fail=-1)


@pytest.fixture()
def dc(config: Config) -> Config:
    """Quick back-off: 2 retries, 2 s apart (3 attempts)."""
    return rule_config(config, alert_delivery_backoff=(2, 2), alert_webhook_timeout=5.0,
                       alert_queue=f"{config.queue}-alert-deliveries",
                       dashboard_url="https://care.example/aw")


def open_alert(config: Config, name: str = "Ada") -> dict[str, Any]:
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        resident = add_resident(conn, name)
        camera = add_camera(conn, resident, f"{name} room")
    write_all(config, jobs(stream(base_time(), 16, steps((16, 0.9)), resident, camera)))
    (alert,) = alerts_of(config, resident)
    return alert


def work_until(config: Config, conn: redis.Redis, done: Any, seconds: float = 30) -> None:
    """Run the delivery worker in bursts (each also moves due retries back onto the queue) until done()."""
    delivery.install(config)
    worker = delivery_worker.build_worker(config, conn)
    deadline = time.monotonic() + seconds
    try:
        while not done() and time.monotonic() < deadline:
            worker.work(burst=True, with_scheduler=True)
            time.sleep(0.2)
    finally:
        delivery.install(None)


def deliveries(config: Config) -> list[dict[str, Any]]:
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        return list(conn.execute("SELECT * FROM alert_deliveries ORDER BY id"))


def test_webhook_is_signed_and_retried_with_back_off(dc: Config, redis_conn: redis.Redis, flaky: Receiver,
                                                      broken: Receiver) -> None:
    with psycopg.connect(dc.database_url, autocommit=True) as conn:
        q.add_webhook(conn, flaky.url, SECRET, "flaky")
        q.add_webhook(conn, broken.url, SECRET, "broken")
    alert = open_alert(dc)
    with psycopg.connect(dc.database_url, autocommit=True) as conn:
        assert dispatch.dispatch(conn, dc, redis_conn) == (2, 2)
        assert dispatch.dispatch(conn, dc, redis_conn) == (0, 0)  # nothing twice
    work_until(dc, redis_conn, lambda: len(flaky.requests) >= 3 and len(broken.requests) >= 3)

    assert [r["signed"] for r in flaky.requests] == [True, True, True]
    gaps = [b["at"] - a["at"] for a, b in zip(flaky.requests, flaky.requests[1:], strict=False)]
    assert all(g >= 1.0 for g in gaps), f"retries came without back-off: {gaps}"  # rq schedules by whole seconds
    body = flaky.requests[-1]["body"]
    assert body["event"] == "opened" and flaky.requests[-1]["event"] == "opened"
    sent = body["alert"]
    assert sent["id"] == alert["id"] and sent["resident"]["name"] == "Ada" and sent["camera"]["name"] == "Ada room"
    assert sent["n_faces"] == alert["n_faces"]
    assert sent["negative_share"] == pytest.approx(alert["negative_share"], 1e-3)
    assert sent["dominant_expression"] == "sad" and sent["url"] == f"https://care.example/aw/alerts/{alert['id']}"
    assert sent["window_start"] and sent["window_end"] and sent["peak_share"] >= 0.6

    good, bad = deliveries(dc)
    assert (good["state"], good["attempts"], good["last_status"]) == ("delivered", 3, 204)
    assert (bad["state"], bad["attempts"], bad["last_status"]) == ("failed", 3, 500)
    assert bad["last_error"] == "HTTP 500 Internal Server Error"
    with psycopg.connect(dc.database_url, row_factory=dict_row) as conn:
        events = [(e.kind, e.details.get("delivery_id")) for e in q.alert_events(conn, alert["id"])]
    assert events.count(("delivery_failed", good["id"])) == 2 and events.count(("delivered", good["id"])) == 1
    assert events.count(("delivery_failed", bad["id"])) == 3
    failed = FailedJobRegistry(dc.alert_queue, connection=redis_conn)
    assert failed.get_job_ids() == [dispatch.job_id(bad["id"])]  # visible to the dashboard's system page


def test_a_webhook_that_answers_a_bad_signature_is_not_fooled(dc: Config, redis_conn: redis.Redis,
                                                              flaky: Receiver) -> None:
    with psycopg.connect(dc.database_url, autocommit=True) as conn:
        q.add_webhook(conn, flaky.url, "another-secret-entirely", "wrong key")
    open_alert(dc)
    with psycopg.connect(dc.database_url, autocommit=True) as conn:
        dispatch.dispatch(conn, dc, redis_conn)
    work_until(dc, redis_conn, lambda: len(flaky.requests) >= 3)
    assert [r["signed"] for r in flaky.requests] == [False, False, False]
    (d,) = deliveries(dc)
    assert (d["state"], d["last_status"]) == ("failed", 401)


def test_a_delivery_queued_under_the_former_job_path_is_still_sent(dc: Config, redis_conn: redis.Redis,
                                                                   flaky: Receiver) -> None:
    """Deliveries queued before the notifier moved out of affectwatch.alerts name the old function."""
    with psycopg.connect(dc.database_url, autocommit=True) as conn:
        q.add_webhook(conn, flaky.url, SECRET, "flaky")
    open_alert(dc)
    with psycopg.connect(dc.database_url, autocommit=True) as conn:
        assert dispatch.create_deliveries(conn, dc) == 1
    (d,) = deliveries(dc)
    dispatch.alert_queue(dc, redis_conn).enqueue(DELIVER_ALERT_BEFORE, d["id"], job_id=dispatch.job_id(d["id"]),
                                                 retry=Retry(max=2, interval=[1, 1]))
    work_until(dc, redis_conn, lambda: len(flaky.requests) >= 3)
    (d,) = deliveries(dc)
    assert (d["state"], d["attempts"], d["last_status"]) == ("delivered", 3, 204)
    assert DELIVER_ALERT_BEFORE != dispatch.DELIVER


@pytest.fixture()
def smtp() -> Iterator[tuple[Controller, list[Message]]]:
    received: list[Message] = []

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(BytesParser().parsebytes(envelope.content))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, received
    controller.stop()


def test_email_is_sent_for_an_opened_alert(dc: Config, redis_conn: redis.Redis,
                                           smtp: tuple[Controller, list[Message]]) -> None:
    controller, inbox = smtp
    ec = rule_config(dc, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False,
                     alert_email_to=("nurses@care.example", "lead@care.example"), smtp_from="aw@care.example")
    alert = open_alert(ec, "Bea")
    with psycopg.connect(ec.database_url, autocommit=True) as conn:
        dispatch.dispatch(conn, ec, redis_conn)
        q.acknowledge(conn, alert["id"], actor="nurse")
        dispatch.dispatch(conn, ec, redis_conn)  # an acknowledgement is not emailed
    work_until(ec, redis_conn, lambda: len(inbox) >= 1)
    (mail,) = inbox
    assert mail["To"] == "nurses@care.example, lead@care.example" and mail["From"] == "aw@care.example"
    assert "Bea looked sad" in mail["Subject"]
    assert f"https://care.example/aw/alerts/{alert['id']}" in str(mail.get_payload())
    (d,) = deliveries(ec)
    assert (d["channel"], d["state"]) == ("email", "delivered")


def test_scheduler_queues_a_new_change_at_once(dc: Config, redis_conn: redis.Redis, flaky: Receiver) -> None:
    slow = rule_config(dc, alert_sweep_seconds=300.0, alert_webhook_urls=(flaky.url,), alert_webhook_secret=SECRET)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(slow, stop), daemon=True)
    thread.start()
    try:
        time.sleep(2)  # past its first sweep: from now on only a NOTIFY wakes it before 300 s
        started = time.monotonic()
        open_alert(slow)
        while not [d for d in deliveries(slow) if d["enqueued_at"]] and time.monotonic() - started < 30:
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(10)
    (d,) = deliveries(slow)
    assert d["enqueued_at"] is not None and d["webhook_id"] is None and elapsed < 30
    assert redis_conn.llen(f"rq:queue:{slow.alert_queue}") == 1


def test_configured_webhook_urls_need_a_secret(dc: Config, redis_conn: redis.Redis) -> None:
    unsigned = rule_config(dc, alert_webhook_urls=("http://127.0.0.1:9/x",), alert_webhook_secret="")
    open_alert(unsigned)
    with psycopg.connect(unsigned.database_url, autocommit=True) as conn, pytest.raises(Exception, match="SECRET"):
        dispatch.dispatch(conn, unsigned, redis_conn)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    yield from serve(fail=0)


def test_the_scheduler_command_delivers_and_stops_on_sigterm(dc: Config, redis_conn: redis.Redis,
                                                             receiver: Receiver) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTWATCH_")}
    env.update(AFFECTWATCH_DATABASE_URL=dc.database_url, AFFECTWATCH_REDIS_URL=dc.redis_url,
               AFFECTWATCH_ALERT_QUEUE=dc.alert_queue, AFFECTWATCH_ALERT_WEBHOOK_URLS=receiver.url,
               AFFECTWATCH_ALERT_WEBHOOK_SECRET=SECRET, AFFECTWATCH_ALERT_SWEEP_SECONDS="300")
    process = subprocess.Popen([sys.executable, "-m", "affectwatch.cli", "alerts", "scheduler"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        alert = open_alert(dc)
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert receiver.requests and receiver.requests[0]["signed"]
        assert receiver.requests[0]["body"]["alert"]["id"] == alert["id"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out.decode(errors="replace")[-3000:]

"""The real services a soak run uses and the faults done to them: a private Redis server it may restart,
a database of its own it may cut off, and worker processes it kills and restarts as a supervisor would.

Postgres itself is never restarted: the server is shared. A database outage is faked on the soak's own
database instead: it stops accepting connections (ALTER DATABASE ... ALLOW_CONNECTIONS false) and every
session on it is terminated (pg_terminate_backend), so workers lose their connection mid-write and cannot
reconnect until it is over: what a Postgres restart or fail-over looks like to them.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from rq import Worker
from rq.serializers import JSONSerializer

from bench import soak_queries as q

log = logging.getLogger("bench.soak")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of the run's own on a free port; `persistent` keeps the queue across restarts (AOF)."""

    def __init__(self, folder: Path, persistent: bool = True) -> None:
        self.folder = folder
        self.persistent = persistent
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; the soak needs its own Redis to restart")
        aof = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persistent else ["--appendonly", "no"]
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", "",
                *aof, "--logfile", str(self.folder / "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self, seconds: float = 15.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start (see {self.folder / 'redis.log'})")

    def stop(self) -> None:
        """Shut down as a restart does (SIGTERM: with AOF on, everything acknowledged is kept)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None

    def restart(self, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


@dataclass
class SoakDatabase:
    """A migrated database of the run's own on a shared server, dropped at the end."""

    server_url: str
    name: str = field(default_factory=lambda: f"affectwatch_soak_{os.getpid()}")

    @property
    def url(self) -> str:
        return psycopg.conninfo.make_conninfo(self.server_url, dbname=self.name)

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(psycopg.conninfo.make_conninfo(self.server_url, dbname="postgres"), autocommit=True,
                               connect_timeout=10)

    def create(self) -> None:
        with self.admin() as conn:
            q.create_database(conn, self.name)

    def drop(self) -> None:
        with self.admin() as conn:
            q.allow_connections(conn, self.name, True)
            q.drop_database(conn, self.name)

    def outage(self, seconds: float) -> int:
        """No connections for `seconds`, every open one terminated at the start; the sessions ended."""
        with self.admin() as conn:
            q.allow_connections(conn, self.name, False)
            try:
                ended = q.terminate_backends(conn, self.name)
                time.sleep(seconds)
            finally:
                q.allow_connections(conn, self.name, True)
        return ended


@dataclass
class WorkerSlot:
    index: int
    generation: int = 0
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def name(self) -> str:
        return f"soak-w{self.index}-{self.generation}"


class WorkerPool:
    """`affectwatch worker` processes, each restarted a second after it exits, as systemd or Docker would.

    A killed worker's RQ name stays registered until its key expires, so a restart takes a new name.
    """

    RESTART_DELAY = 1.0

    def __init__(self, n: int, env: dict[str, str], logs: Path) -> None:
        self.slots = [WorkerSlot(i + 1) for i in range(n)]
        self.env = env
        self.logs = logs
        self.restarts = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)

    def start(self) -> None:
        for slot in self.slots:
            self._spawn(slot)
        self.thread.start()

    def _spawn(self, slot: WorkerSlot) -> None:
        slot.generation += 1
        out = (self.logs / f"{slot.name}.log").open("wb")
        slot.proc = subprocess.Popen([sys.executable, "-m", "affectwatch.cli", "worker", "--name", slot.name],
                                     cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        slot.started_at = time.monotonic()
        log.info("started worker %s (pid %d)", slot.name, slot.proc.pid)

    def _supervise(self) -> None:
        while not self.stopping.wait(0.2):
            with self.lock:
                for slot in self.slots:
                    if slot.proc is not None and slot.proc.poll() is not None:
                        self._restart(slot)

    def _restart(self, slot: WorkerSlot) -> None:
        assert slot.proc is not None
        log.info("worker %s exited (%s); restarting", slot.name, slot.proc.returncode)
        time.sleep(self.RESTART_DELAY)
        self.restarts += 1
        self._spawn(slot)

    def kill(self, slot: WorkerSlot) -> None:
        """SIGKILL: no clean-up at all, as the OOM killer or a power cut would do it."""
        with self.lock:
            if slot.proc is not None and slot.proc.poll() is None:
                os.kill(slot.proc.pid, signal.SIGKILL)
                slot.proc.wait(10)

    def busy(self, conn: redis.Redis) -> list[tuple[WorkerSlot, str]]:
        """The live workers running a job right now, with the job's id."""
        found = []
        for slot in self.slots:
            if slot.proc is None or slot.proc.poll() is not None:
                continue
            worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + slot.name, connection=conn,
                                        serializer=JSONSerializer)
            job_id = worker.get_current_job_id() if worker is not None else None
            if job_id:
                found.append((slot, job_id))
        return found

    def ready(self, conn: redis.Redis) -> bool:
        """Every worker registered with RQ (models loaded, waiting for jobs)."""
        names = {w.name for w in Worker.all(connection=conn, serializer=JSONSerializer)}
        return all(slot.name in names for slot in self.slots)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is None:
                slot.proc.send_signal(signal.SIGTERM)
        for slot in self.slots:
            if slot.proc is not None:
                try:
                    slot.proc.wait(30)
                except subprocess.TimeoutExpired:
                    slot.proc.kill()

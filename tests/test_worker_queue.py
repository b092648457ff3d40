# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""Safety of the queue: a worker runs only allowlisted functions, unpickles nothing, never forks into torch."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
import redis
from rq import Callback, Queue
from rq.job import JobStatus
from rq.webhook import Webhook

from affectwatch.config import Config
from affectwatch.exceptions import WorkerError
from affectwatch.queue import JOB_FUNCTIONS, PROCESS_FRAMES, frame_queue
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    add_test_camera,
    loaded_pipeline,
    model_path,
    pipeline,
    work,
)
from worker import jobs
from worker.pipeline import Pipeline

NEVER_IMPORTED = "this"  # importing the standard library's `this` prints a poem: a visible side effect


def test_process_frames_is_the_allowlisted_function() -> None:
    assert PROCESS_FRAMES in JOB_FUNCTIONS
    assert jobs.process_frames.__module__ + ".process_frames" == PROCESS_FRAMES


def test_a_job_for_another_function_fails_unrun_and_its_module_is_never_imported(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline) -> None:
    assert NEVER_IMPORTED not in sys.modules
    job = frame_queue(config, redis_conn).enqueue_call(f"{NEVER_IMPORTED}.s", args=(1,), retry=None)
    work(config, redis_conn)

    assert job.get_status() == JobStatus.FAILED
    result = job.latest_result()
    assert result is not None and "JobRefused" in (result.exc_string or "")
    assert f"'{NEVER_IMPORTED}.s' is not one a worker runs" in (result.exc_string or "")
    assert NEVER_IMPORTED not in sys.modules


class Evil:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_a_pickled_job_is_never_unpickled(config: Config, redis_conn: redis.Redis, pipeline: Pipeline,
                                           tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    pickled = Queue(config.queue, connection=redis_conn)  # rq's default serializer: pickle
    job = pickled.enqueue_call(PROCESS_FRAMES, args=(1, [Evil(marker)]))
    work(config, redis_conn)

    assert not marker.exists()
    assert frame_queue(config, redis_conn).fetch_job(job.id) is not None
    assert job.get_status() == JobStatus.FAILED


def test_callbacks_and_webhooks_a_job_names_are_never_run(config: Config, redis_conn: redis.Redis,
                                                          pipeline: Pipeline) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.3)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        job = frame_queue(config, redis_conn).enqueue_call(
            PROCESS_FRAMES, args=(999_999, []), on_failure=Callback(f"{NEVER_IMPORTED}.s"),
            webhooks=[Webhook(url, "failed")])
        work(config, redis_conn)
        assert job.get_status() == JobStatus.FAILED  # camera 999999 does not exist
        with pytest.raises(TimeoutError):
            listener.accept()
    assert NEVER_IMPORTED not in sys.modules


def test_process_frames_outside_the_worker_refuses_to_run() -> None:
    jobs.install(None)
    with pytest.raises(WorkerError, match="runs only inside `affectwatch worker`"):
        jobs.process_frames(1, [])


def test_process_frames_in_a_forked_child_refuses_before_touching_torch(config: Config, pipeline: Pipeline) -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a forking rq worker's work horse would be
        os.close(read)
        try:
            jobs.process_frames(1, [])
            message = b"ran"
        except WorkerError as exc:
            message = str(exc).encode()
        os.write(write, message)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    assert "a fork of the worker" in said and "forked children hang in torch" in said

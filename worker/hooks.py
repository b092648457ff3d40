"""Where other parts of AffectWatch plug into the worker, once a job's faces are written.

after_faces_committed is the single call site: worker.jobs calls it for every job, with the
connection whose transaction has just inserted the job's frame and face rows, INSIDE that
transaction, right before COMMIT. Consequences, by design:

- whatever it writes with `conn` commits together with the faces, or not at all;
- if it raises, the job's rows are rolled back and the job fails; RQ retries it, and the retry
  inserts the same faces again and calls the hook again with them (no face is seen twice once
  committed, none is skipped);
- `faces` holds only the rows inserted by this run of the job: faces an earlier, committed run
  already wrote are not passed again;
- effects outside Postgres (enqueueing a webhook delivery) should be written as rows here and
  sent after commit (an outbox), or tolerate being done again when a job is retried.

It runs in the worker process, between jobs' MTCNN work: keep it to a few queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from affectwatch.alerts.engine import Change, on_faces
from affectwatch.config import Config
from affectwatch.queries.frames import FaceRow


def after_faces_committed(conn: psycopg.Connection[Any], config: Config, faces: Sequence[FaceRow]) -> list[Change]:
    """Called once per job with the faces it inserted (possibly none), inside their transaction.

    The alert rule is evaluated for the residents of these faces (affectwatch.alerts.engine); the
    alert changes it made are returned (counted by the worker once they are committed).
    """
    return on_faces(conn, config, faces)

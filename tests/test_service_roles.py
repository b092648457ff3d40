# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""Each service's own database login (docker-compose.yml gives each its own): `affectwatch migrate` makes them
from the configured passwords, and each does its real work with its group role's privileges and no more."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest

from affectwatch import cli
from affectwatch.accounts import create_account
from affectwatch.audit import Actor
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.queries import roles
from affectwatch.queries.camera_status import HealthReport, report_health
from affectwatch.queries.cameras import add_camera
from affectwatch.queries.residents import add_resident
from affectwatch.queue import FramePayload
from dashboard import create_app
from tests.test_dashboard_support import FAST_HASH, PASSWORD, sign_in
from tests.test_worker_support import astronaut_frame, jpeg, loaded_pipeline, model_path  # noqa: F401
from worker import jobs
from worker.pipeline import Pipeline

PASSWORDS = {"producer": "producer-secret-1", "worker": "worker-secret-2", "dashboard": "dashboard-secret-3"}


@pytest.fixture()
def logins(config: Config, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Config]]:
    """`affectwatch migrate` run with the three passwords; each service's config connecting as its login."""
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", config.database_url)
    for service, password in PASSWORDS.items():
        monkeypatch.setenv(f"AFFECTWATCH_{service.upper()}_DB_PASSWORD", password)
    database = str(psycopg.conninfo.conninfo_to_dict(config.database_url)["dbname"])
    names = {service: roles.login_name(database, service) for service in PASSWORDS}
    try:
        assert cli.main(["migrate"]) == 0
        yield {service: replace(config, database_url=psycopg.conninfo.make_conninfo(
            config.database_url, user=names[service], password=PASSWORDS[service])) for service in PASSWORDS}
    finally:
        with psycopg.connect(config.database_url, autocommit=True) as conn:
            for name in names.values():
                roles.drop_login(conn, name)


def test_migrate_makes_each_services_login_a_member_of_its_group(config: Config,
                                                                   logins: dict[str, Config]) -> None:
    for service, cfg in logins.items():
        with psycopg.connect(cfg.database_url) as conn:
            assert conn.execute("SELECT pg_has_role(current_user, %s, 'member')",
                                (f"affectwatch_{service}",)).fetchone() == (True,)
    assert cli.main(["migrate"]) == 0  # again: the passwords are set again, nothing fails


def test_each_service_does_its_work_as_its_own_login(config: Config, logins: dict[str, Config],
                                                     loaded_pipeline: Pipeline, astronaut: np.ndarray) -> None:
    with transaction(config) as conn:
        resident = add_resident(conn, "Eileen").id
        camera = add_camera(conn, "room 1", "rtsp://camera.local/room1", resident_id=resident).id
    # the producer writes camera health, and may not read faces
    with psycopg.connect(logins["producer"].database_url, autocommit=True) as conn:
        report_health(conn, [HealthReport(camera, "online", datetime.now(UTC), sent=3)])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM faces")
    # a worker writes a frame and its face, and may not delete them
    worker = logins["worker"]
    jobs.install(loaded_pipeline.with_config(replace(loaded_pipeline.config, database_url=worker.database_url)))
    try:
        at = datetime.now(UTC) - timedelta(seconds=5)
        frame = FramePayload(uuid.uuid4(), camera, at, at, jpeg(astronaut_frame(astronaut)))
        result = jobs.process_frames(camera, [frame.to_json()])
    finally:
        jobs.install(None)
    assert result["faces"] == 1
    # a worker carries out an enrolment uploaded to the dashboard (the templates, their consent, the audit row)
    from affectwatch.identity import EnrolmentRequest, Photo
    from affectwatch.queries.identity import Consent
    from worker.enrolment import enrol_job

    request = EnrolmentRequest(resident, Consent("Eileen herself", datetime.now(UTC), "the resident", "matron"),
                               Actor("matron", None, "127.0.0.1"), [Photo("one.jpg", jpeg(astronaut))])
    jobs.install(loaded_pipeline.with_config(replace(loaded_pipeline.config, database_url=worker.database_url)))
    try:
        assert enrol_job(request.to_json()) == {"templates": 1}
    finally:
        jobs.install(None)
    with psycopg.connect(worker.database_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM faces")
    # the dashboard signs a carer in and shows the resident's history, and may not change a face
    dash = replace(logins["dashboard"], password_hash=FAST_HASH)
    with transaction(config) as conn:
        create_account(conn, "matron", PASSWORD, "admin", "Matron", FAST_HASH)
    client = create_app(dash).test_client()
    assert sign_in(client, "matron").status_code == 302
    assert client.get(f"/residents/{resident}").status_code == 200
    with psycopg.connect(dash.database_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE faces SET expression = 'happy'")

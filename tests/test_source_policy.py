"""Where a camera source may point: files and folders only under AFFECTWATCH_MEDIA_ROOT, network sources
never at loopback, link-local or cloud-metadata addresses unless allowed; in the command line, the dashboard
(pages and API) and its test-frame grab alike."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from affectwatch.cli import main
from affectwatch.config import Config
from affectwatch.exceptions import SourceError
from affectwatch.sources import SourceKind, SourcePolicy, validate_source
from tests.test_dashboard_support import *  # noqa: F403  (the fixtures)
from tests.test_dashboard_support import api, db

LOCAL = ["rtsp://127.0.0.1:554/live", "http://127.1/video.mjpg", "rtsp://localhost/live", "http://[::1]:8080/a",
         "http://[::ffff:127.0.0.1]/a", "http://169.254.169.254/latest/meta-data/", "rtsp://[fe80::1]/live",
         "http://metadata.google.internal/computeMetadata/v1/", "http://0.0.0.0:8554/", "http://100.100.100.200/"]
HOME_NETWORK = ["rtsp://10.0.0.5/live", "rtsp://admin:pw@192.168.1.20:554/stream1", "http://172.16.4.2/mjpg"]


@pytest.fixture()
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("source", LOCAL)
def test_local_and_metadata_addresses_are_refused_unless_allowed(source: str, media: Path) -> None:
    with pytest.raises(SourceError, match=r"loopback, link-local or cloud-metadata.*AFFECTWATCH_ALLOW_LOCAL_SOURCES"):
        validate_source(source, policy=SourcePolicy(media))
    assert validate_source(source, policy=SourcePolicy(media, allow_local_network=True)).kind is SourceKind.URL


@pytest.mark.parametrize("source", HOME_NETWORK)
def test_cameras_on_the_homes_network_are_accepted(source: str, media: Path) -> None:
    assert validate_source(source, policy=SourcePolicy(media)).text == source


def test_files_and_folders_only_under_the_media_root(media: Path, face_video: Path) -> None:
    policy = SourcePolicy(media)
    inside = media / "lounge.mp4"
    shutil.copy(face_video, inside)
    assert validate_source(str(inside), policy=policy).kind is SourceKind.FILE
    for outside in (str(face_video), str(media / ".." / face_video.name), str(face_video.parent)):
        with pytest.raises(SourceError, match=r"outside the media folder.*AFFECTWATCH_MEDIA_ROOT"):
            validate_source(outside, policy=policy)
    (media / "link.mp4").symlink_to(face_video)
    with pytest.raises(SourceError, match="outside the media folder"):
        validate_source(str(media / "link.mp4"), policy=policy)
    with pytest.raises(SourceError, match="outside the media folder"):
        validate_source("/etc/passwd", policy=policy)  # refused before it is looked at
    assert validate_source("/dev/video0", policy=policy).kind is SourceKind.DEVICE


@pytest.fixture()
def media_app(dash_config: Config, media: Path, clock: Any) -> Any:
    from dashboard import create_app

    app = create_app(replace(dash_config, media_root=media), clock=clock)
    app.config["TESTING"] = True
    return app


def test_the_dashboard_refuses_such_sources_and_will_not_grab_them(media_app: Any, media: Path, face_video: Path,
                                                                   accounts: dict[str, int]) -> None:
    from tests.test_dashboard_support import sign_in

    admin: FlaskClient = media_app.test_client()
    assert sign_in(admin, "admin").status_code == 302
    refused = api(admin, "POST", "/api/v1/cameras", {"name": "Hall", "source": str(face_video), "enabled": True})
    assert refused.status_code == 400 and "AFFECTWATCH_MEDIA_ROOT" in refused.get_data(as_text=True)
    metadata = api(admin, "POST", "/api/v1/cameras", {"name": "Hall", "source": "http://169.254.169.254/latest/"})
    assert metadata.status_code == 400 and "cloud-metadata" in metadata.get_data(as_text=True)
    for source in (str(face_video), "http://127.0.0.1:9/video.mjpg"):
        shot = api(admin, "POST", "/api/v1/cameras/test", {"source": source}).get_json()
        assert shot["ok"] is False and ("AFFECTWATCH_MEDIA_ROOT" in shot["error"] or "loopback" in shot["error"])

    # A camera stored before the media root was set (or written by SQL) is not grabbed either.
    with db(media_app.extensions["affectwatch"].config) as conn:
        row = conn.execute("INSERT INTO cameras (name, source) VALUES ('Old', %s) RETURNING id",
                           (str(face_video),)).fetchone()
    assert row is not None
    shot = api(admin, "POST", f"/api/v1/cameras/{row['id']}/test", {}).get_json()
    assert shot["ok"] is False and "outside the media folder" in shot["error"]

    inside = media / "hall.mp4"
    shutil.copy(face_video, inside)
    made = api(admin, "POST", "/api/v1/cameras", {"name": "Hall", "source": str(inside), "enabled": True})
    assert made.status_code == 201, made.get_json()
    shot = api(admin, "POST", f"/api/v1/cameras/{made.get_json()['id']}/test", {}).get_json()
    assert shot["ok"] is True and shot["width"] == 640


def test_the_command_line_applies_the_same_policy(config: Config, media: Path, face_video: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", config.database_url)
    monkeypatch.setenv("AFFECTWATCH_MEDIA_ROOT", str(media))
    assert main(["camera", "add", "Hall", str(face_video)]) == 2
    assert "outside the media folder" in capsys.readouterr().err
    assert main(["camera", "add", "Hall", "rtsp://localhost/live"]) == 2
    assert "AFFECTWATCH_ALLOW_LOCAL_SOURCES" in capsys.readouterr().err
    monkeypatch.setenv("AFFECTWATCH_ALLOW_LOCAL_SOURCES", "true")
    assert main(["camera", "add", "Hall", "rtsp://localhost/live"]) == 0
    # The demo writes its video into the media root and registers it there.
    assert main(["demo"]) == 0
    with db(config) as conn:
        demo = conn.execute("SELECT source FROM cameras WHERE name = 'Demo camera'").fetchone()
    assert demo == {"source": str(media.resolve() / "demo" / "demo.mp4")}

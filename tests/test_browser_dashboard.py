"""End to end in a real headless Chromium (Debian's chromium and chromium-driver, driven by selenium).

The dashboard runs in waitress on a free loopback port against the test database; the real producer
captures the registered camera (a video file) and reports its health; faces written as a worker writes
them go through the real alert engine, whose alert appears in the open page without a reload and is
acknowledged there. Set AFFECTWATCH_SCREENSHOTS=docs/screenshots to refresh the documentation's pictures.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask

from affectwatch.accounts import create_account
from affectwatch.alerts import engine
from affectwatch.config import Config
from dashboard import create_app, vendor
from tests.test_dashboard_support import FAST_HASH, PASSWORD, db

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")
TABLET = (1024, 768)
WAIT = 20


def ensure_chromium() -> None:
    """Install Debian's chromium and its driver when missing (as root), else skip saying why."""
    if Path(CHROMIUM).exists() and Path(DRIVER).exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("headless Chromium is missing: install the Debian packages chromium and chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"could not install chromium: {done.stderr.strip()[-300:]}")


def ensure_chart_library() -> None:
    """The chart library comes from npm (dashboard/package.json); install it when missing."""
    if not vendor.missing():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"the chart library is missing and npm is not installed: {vendor.INSTALL_HINT}")
    subprocess.run([npm, "ci", "--prefix", str(ROOT / "dashboard"), "--no-audit", "--no-fund", "--ignore-scripts"],
                   check=True, capture_output=True, timeout=600)


@contextmanager
def chromium(*flags: str) -> Iterator[Any]:
    """Headless Chromium (installed when missing) at a tablet's size, with these flags besides FLAGS."""
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *flags):
        options.add_argument(flag)
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"affectwatch-chromium-{uuid.uuid4().hex}"
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={TABLET[0]},{TABLET[1]}")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture()
def server(config: Config, redis_conn: Any) -> Iterator[tuple[str, Config, Flask]]:
    """The dashboard in waitress on 127.0.0.1, a free port; the real clock."""
    import waitress

    ensure_chart_library()
    cfg = replace(config, password_hash=FAST_HASH, dashboard_poll_seconds=1.0, timezone="Europe/London")
    app = create_app(cfg)
    wsgi = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=wsgi.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{wsgi.effective_port}", cfg, app
    wsgi.close()
    thread.join(5)


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("AFFECTWATCH_SCREENSHOTS") or tmp_path)
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def producer(cfg: Config) -> Iterator[subprocess.Popen[str]]:
    """The real producer process, writing camera health to the test database every second."""
    env = {**os.environ, "AFFECTWATCH_DATABASE_URL": cfg.database_url, "AFFECTWATCH_REDIS_URL": cfg.redis_url,
           "AFFECTWATCH_QUEUE": cfg.queue, "AFFECTWATCH_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "affectwatch.cli", "producer", "--duration", "120",
                             "--status-seconds", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out[-2000:]


def negative_faces(cfg: Config, resident_id: int, camera_id: int, n: int, end: datetime) -> list[Any]:
    """Faces as the worker stores them: sad, one every 15 seconds up to `end` (spanning the rule's five
    minutes in its six distinct minutes when n is 30)."""
    labels = ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    rows = []
    with db(cfg) as conn:
        for i in range(n):
            at = end - timedelta(seconds=15 * (n - 1 - i))
            probs = [0.8 if x == "sad" else 0.2 / 7 for x in labels]
            conn.execute(
                "INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1, box_x2,"
                " box_y2, det_prob, expression, confidence, model, p_anger, p_contempt, p_disgust, p_fear, p_happy,"
                " p_neutral, p_sad, p_surprise) VALUES (%s, 0, %s, %s, %s, 1, 1, 60, 60, 0.99, 'sad', 0.8, 'test',"
                " %s, %s, %s, %s, %s, %s, %s, %s)", (uuid.uuid4(), at, camera_id, resident_id, *probs))
            rows.append(type("Face", (), {"resident_id": resident_id, "captured_at": at}))
    return rows


def history_faces(cfg: Config, resident_id: int, camera_id: int, now: datetime) -> None:
    """Two days of a resident's expressions, mostly neutral and happy, sadder in the evenings."""
    labels = ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    with db(cfg) as conn, conn.cursor() as cur:
        rows = []
        for h in range(48):
            hour = now - timedelta(hours=48 - h)
            for k in range(12):
                pick = ("happy", "neutral", "neutral", "surprise", "sad" if hour.hour >= 18 else "neutral",
                        "sad" if hour.hour >= 20 else "happy", "anger" if k == 7 and h % 5 == 0 else "neutral",
                        "fear" if k == 8 and h % 7 == 0 else "happy")[k % 8]
                probs = [0.75 if x == pick else 0.25 / 7 for x in labels]
                rows.append((uuid.uuid4(), hour + timedelta(minutes=5 * k), camera_id, resident_id, pick, *probs))
        cur.executemany(
            "INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1, box_x2,"
            " box_y2, det_prob, expression, confidence, model, p_anger, p_contempt, p_disgust, p_fear, p_happy,"
            " p_neutral, p_sad, p_surprise) VALUES (%s, 0, %s, %s, %s, 1, 1, 60, 60, 0.99, %s, 0.75, 'test',"
            " %s, %s, %s, %s, %s, %s, %s, %s)", rows)
        cur.execute("SELECT affectwatch_refresh_history()")  # the history upkeep's job, every minute


def test_sign_in_register_a_camera_see_health_and_acknowledge_an_alert(
        browser: Any, server: tuple[str, Config, Flask], face_video: Path, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, cfg, _ = server
    wait = WebDriverWait(browser, WAIT)
    with db(cfg) as conn:
        create_account(conn, "matron", PASSWORD, "admin", "Matron Hughes", FAST_HASH)
    resident_id = int(one(cfg, "INSERT INTO residents (name, room) VALUES ('Edith Clarke', '12') RETURNING id")["id"])

    def snap(name: str) -> None:
        """The whole page at the window's width (the window grows to its height, then shrinks back)."""
        width, height = browser.get_window_size()["width"], browser.get_window_size()["height"]
        page = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(width, min(max(height, page + 100), 2400))
        browser.save_screenshot(str(shots / f"{name}.png"))
        browser.set_window_size(width, height)

    # Sign in.
    browser.get(base + "/cameras/")
    wait.until(ec.presence_of_element_located((By.ID, "username")))
    snap("sign-in")
    browser.find_element(By.ID, "username").send_keys("matron")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "add-camera")))
    assert browser.current_url.endswith("/cameras/"), "back where the sign-in began"

    # Register a camera, testing its source first.
    browser.find_element(By.ID, "add-camera").click()
    browser.find_element(By.ID, "camera-name").send_keys("Room 12 <door>")
    browser.find_element(By.ID, "camera-source").send_keys(str(face_video))
    browser.find_element(By.ID, "camera-location").send_keys("above the door")
    fps = browser.find_element(By.ID, "camera-fps")
    fps.clear()
    fps.send_keys("4")
    browser.find_element(By.CSS_SELECTOR, f"#camera-resident option[value='{resident_id}']").click()
    browser.find_element(By.ID, "test-source").click()
    frame = wait.until(ec.presence_of_element_located((By.ID, "test-frame")))
    assert browser.execute_script("return arguments[0].naturalWidth", frame) == 640
    snap("camera-test")
    browser.find_element(By.ID, "save-camera").click()
    wait.until(ec.presence_of_element_located((By.ID, "camera-health")))
    assert "Room 12 <door>" in browser.find_element(By.TAG_NAME, "h1").text, "shown as typed, as text"
    assert browser.find_element(By.CSS_SELECTOR, ".health-state").text == "waiting"

    # The producer captures it; the page shows it online with frames sent.
    with producer(cfg):
        def online(driver: Any) -> bool:
            # "online" comes as soon as the source opens; the first frames are counted a moment later.
            if one(cfg, "SELECT coalesce(max(frames_sent), 0) AS sent FROM camera_status")["sent"] == 0:
                return False
            driver.refresh()
            return "online" in driver.find_element(By.CSS_SELECTOR, ".health-state").text

        WebDriverWait(browser, 60, poll_frequency=1).until(online)
        health = browser.find_element(By.ID, "camera-health").text
        status = one(cfg, "SELECT state, frames_sent FROM camera_status")
        assert status["frames_sent"] > 0
        assert "Frames sent\n" in health and "Last frame\nnever" not in health, health
        snap("camera")
        browser.get(base + "/cameras/")
        snap("cameras")

    # Two days of history, drawn by Chart.js.
    camera_id = _camera_id(cfg)
    now = datetime.now(UTC)
    history_faces(cfg, resident_id, camera_id, now)
    browser.get(f"{base}/history/{resident_id}?bucket=hour&from={(now - timedelta(days=2)):%Y-%m-%d}")
    wait.until(lambda d: d.execute_script("return !!(window.AffectWatchCharts && window.AffectWatchCharts.shares)"))
    drawn = browser.execute_script("return window.AffectWatchCharts.shares.data.datasets.length")
    assert drawn == 9, "eight expressions and the alerts"
    snap("history")

    # An alert raised by the alert engine appears in the open alerts page, with the sound option.
    browser.get(base + "/alerts/")
    wait.until(ec.presence_of_element_located((By.ID, "alerts-table")))
    browser.find_element(By.ID, "alert-sound").click()
    assert browser.find_element(By.ID, "alert-banner").get_attribute("hidden") is not None
    faces = negative_faces(cfg, resident_id, camera_id, 30, datetime.now(UTC))
    with psycopg.connect(cfg.database_url) as engine_conn:
        changes = engine.on_faces(engine_conn, cfg, faces)
        engine_conn.commit()
    assert [c.what for c in changes] == ["opened"]
    alert_id = changes[0].alert_id
    banner = wait.until(ec.visibility_of_element_located((By.ID, "alert-banner")))
    assert "Edith Clarke" in banner.text
    row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-alert-id='{alert_id}']")))
    assert browser.title.startswith("(!) ")
    snap("alerts-new")
    row.find_element(By.NAME, "note").send_keys("Sat with Edith, she misses her daughter")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".flash-success")))
    alert = one(cfg, "SELECT state, acknowledged_by FROM alerts WHERE id = %s", (alert_id,))
    event = one(cfg, "SELECT note, user_id FROM alert_events WHERE kind = 'acknowledged'")
    assert alert == {"state": "acknowledged", "acknowledged_by": "matron"}
    assert event["note"] == "Sat with Edith, she misses her daughter" and event["user_id"] is not None

    for name, path in (("overview", "/overview"), ("residents", "/residents/"),
                       ("resident", f"/residents/{resident_id}"), ("system", "/system/"), ("users", "/users/"),
                       ("alert", f"/alerts/{alert_id}")):
        browser.get(base + path)
        wait.until(ec.presence_of_element_located((By.TAG_NAME, "h1")))
        snap(name)
    browser.set_window_size(768, 1024)
    browser.get(base + "/overview")
    wait.until(ec.presence_of_element_located((By.ID, "resident-board")))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 768, "nothing overflows a tablet held upright"
    snap("overview-portrait")
    browser.set_window_size(*TABLET)
    browser.get("about:blank")


def _camera_id(cfg: Config) -> int:
    return int(one(cfg, "SELECT id FROM cameras")["id"])


def one(cfg: Config, query: str, params: tuple[Any, ...] = ()) -> dict[str, Any]:
    with db(cfg) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row

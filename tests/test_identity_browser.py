# ruff: noqa: F811  (fixtures imported from tests.test_browser_dashboard)
"""Enrolment in the dashboard, in a real headless Chromium: an administrator registers a camera watching two
residents (the multi-select), uploads photos of one of them with the consent, and sees the templates counted
and the camera switch from "single person" to identifying; a photo without a face is refused by name. The
dashboard runs no models: a real `affectwatch worker` process takes the templates."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from affectwatch.accounts import create_account
from affectwatch.config import Config
from affectwatch.identity import SINGLE_PERSON
from tests import faceset
from tests.identityset import variants, write
from tests.test_browser_dashboard import WAIT, browser, one, server  # noqa: F401  (fixtures)
from tests.test_dashboard_support import FAST_HASH, PASSWORD, db
from tests.test_worker_support import start_worker

pytestmark = pytest.mark.browser


def test_an_administrator_enrols_a_resident_from_photos(browser: Any, server: tuple[str, Config, Flask],
                                                       tmp_path: Path) -> None:

    base, cfg, _ = server
    worker = start_worker(cfg)  # loads its models while the camera is registered
    try:
        enrol_in_the_browser(browser, base, cfg, tmp_path)
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def submit(browser: Any, seconds: float) -> None:
    """Send the enrolment form and wait until the answer's page replaces this one (a worker takes the photos)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "enrol-submit").click()
    WebDriverWait(browser, seconds).until(ec.staleness_of(page))


def enrol_in_the_browser(browser: Any, base: str, cfg: Config, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    with db(cfg) as conn:
        create_account(conn, "matron", PASSWORD, "admin", "Matron Hughes", FAST_HASH)
    eileen = int(one(cfg, "INSERT INTO residents (name, room) VALUES ('Eileen', '3') RETURNING id")["id"])
    grace = int(one(cfg, "INSERT INTO residents (name, room) VALUES ('Grace', '4') RETURNING id")["id"])

    browser.get(base + "/cameras/new")
    wait.until(ec.presence_of_element_located((By.ID, "username"))).send_keys("matron")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "camera-name"))).send_keys("Shared room 3-4")
    browser.find_element(By.ID, "camera-source").send_keys("rtsp://cam.local/room34")
    for resident in (eileen, grace):
        browser.find_element(By.CSS_SELECTOR, f"#camera-resident option[value='{resident}']").click()
    browser.find_element(By.ID, "save-camera").click()
    wait.until(ec.presence_of_element_located((By.ID, "camera-identity")))
    assert browser.find_element(By.ID, "camera-identity").text == SINGLE_PERSON
    camera = int(one(cfg, "SELECT id FROM cameras")["id"])
    assert one(cfg, "SELECT array_agg(resident_id ORDER BY position) AS ids FROM camera_residents")["ids"] == \
        [eileen, grace]

    # A photo without a face: refused by name, nothing kept.
    browser.get(f"{base}/residents/{eileen}")
    bad = write(tmp_path / "bad", [faceset.photos()["coffee"]], prefix="coffee")[0]
    browser.find_element(By.ID, "enrol-photos").send_keys(str(bad))
    browser.find_element(By.ID, "enrol-consent-by").send_keys("Eileen herself")
    submit(browser, 180)  # the first answer waits for the worker to load its models
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "Not enrolled"))
    assert "coffee0.jpg: no clear face" in browser.find_element(By.TAG_NAME, "body").text
    assert one(cfg, "SELECT count(*) AS n FROM face_templates")["n"] == 0

    # Five photos of her: five templates, counted with when they were taken.
    photos = write(tmp_path / "eileen", variants("astronaut")[:5])
    browser.find_element(By.ID, "enrol-photos").send_keys("\n".join(str(p) for p in photos))
    browser.find_element(By.ID, "enrol-consent-by").send_keys("Eileen herself")
    submit(browser, 120)
    wait.until(ec.text_to_be_present_in_element((By.ID, "enrolment-count"), "5 face template(s), taken"))
    assert "Consent given by Eileen herself" in browser.find_element(By.ID, "enrolment").text
    assert one(cfg, "SELECT count(*) AS n FROM face_templates WHERE resident_id = %s", (eileen,))["n"] == 5
    actions = one(cfg, "SELECT array_agg(action) AS a, array_agg(actor) AS who FROM audit_log"
                  " WHERE action IN ('enrol', 'unenrol')")
    assert actions["a"] == ["enrol"] and actions["who"] == ["matron"]

    browser.get(f"{base}/cameras/{camera}")
    identity = wait.until(ec.presence_of_element_located((By.ID, "camera-identity"))).text
    assert identity.startswith("identifies 1 of 2 resident(s)")

    # Removing the enrolment from the page.
    browser.get(f"{base}/residents/{eileen}")
    browser.execute_script("window.confirm = () => true;")
    browser.find_element(By.CSS_SELECTOR, "#enrolment form.inline button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "enrolment-count"), "Not enrolled"))
    assert one(cfg, "SELECT count(*) AS n FROM face_templates")["n"] == 0

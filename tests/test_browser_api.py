# ruff: noqa: F811  (fixtures imported from tests.test_browser_dashboard)
"""In a real headless Chromium: the tokens page makes a token shown once, and the API browser renders
the generated OpenAPI document from this site, under the dashboard's Content Security Policy."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from flask import Flask

from affectwatch.accounts import create_account
from affectwatch.config import Config
from tests.test_browser_dashboard import FAST_HASH, PASSWORD, WAIT, browser, db, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_make_a_token_in_the_browser_then_browse_the_api_with_it(browser: Any,
                                                                  server: tuple[str, Config, Flask]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, cfg, _ = server
    wait = WebDriverWait(browser, WAIT)
    with db(cfg) as conn:
        create_account(conn, "carer", PASSWORD, "staff", "Sam Carer", FAST_HASH)
    browser.get(base + "/tokens/")
    wait.until(ec.presence_of_element_located((By.ID, "username")))
    browser.find_element(By.ID, "username").send_keys("carer")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.NAME, "name")))
    browser.find_element(By.NAME, "name").send_keys("ward tablet")
    browser.find_element(By.CSS_SELECTOR, "form.form-inline button[type=submit]").click()
    secret = wait.until(ec.presence_of_element_located((By.ID, "token-secret"))).text
    assert secret.startswith("aw_")
    request = urllib.request.Request(base + "/api/v1/alerts", headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(request, timeout=10) as reply:  # no cookie: the token alone
        assert json.loads(reply.read())["total"] == 0

    browser.get(base + "/api-docs")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path")))
    paths = {e.get_attribute("data-path") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/alerts", "/tokens", "/cameras/{camera_id}"} <= paths
    assert "AffectWatch dashboard API" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "Content Security Policy" in
              e["message"] and "script" in e["message"]]
    assert not errors, errors

"""The dashboard behind the TLS proxy exactly as docker-compose.yml configures it, signed in to over HTTPS in a
real headless Chromium.

deploy/nginx/affectwatch.conf.template (the file compose mounts into the official nginx image) is filled in
here for the same ${AFFECTWATCH_*} variables only (upstream, ports, certificate paths) and run by Debian's
nginx, installed with apt when missing; the certificate is made by scripts/make_tls_cert.sh for a name that
is not localhost (Chromium maps it to 127.0.0.1 and trusts only that certificate's key), so the secure
cookie and the CSRF check meet real TLS. The dashboard is `affectwatch dashboard` in production, trusting
the proxy's address only.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from affectwatch.accounts import create_account
from affectwatch.cli.dashboard import proxy_settings
from affectwatch.config import Config
from affectwatch.exceptions import ConfigError
from tests.test_browser_dashboard import chromium, ensure_chart_library
from tests.test_dashboard_support import FAST_HASH, PASSWORD, db

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "affectwatch.conf.template"
HOST = "affectwatch.test"
SECRET = "a-test-secret-key-that-is-long-enough-for-production-0123456789"
WAIT = 30.0


def ensure_nginx() -> str:
    """Debian's nginx (installed with apt when missing, as root), else skip saying why."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("nginx is missing: install the Debian package nginx-light (or nginx)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "nginx-light"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"could not install nginx: {done.stderr.strip()[-300:]}")
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def render(template: str, values: dict[str, str]) -> str:
    """The template with its ${AFFECTWATCH_*} variables filled in, as the nginx image's envsubst does."""
    names = set(re.findall(r"\$\{(AFFECTWATCH_[A-Z_]+)\}", template))
    assert names == set(values), f"the template's variables are {sorted(names)}"
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    return template


def wait_for_port(port: int, proc: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}: {log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass(frozen=True)
class Site:
    https_port: int
    http_port: int
    cert: Path
    spki: str  # base64 SHA-256 of the certificate's public key, for Chromium

    @property
    def base(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    def tls(self) -> http.client.HTTPSConnection:
        """A client that trusts this certificate alone and connects to 127.0.0.1 by the certificate's name."""
        context = ssl.create_default_context(cafile=str(self.cert))
        conn = http.client.HTTPSConnection(HOST, self.https_port, context=context, timeout=20)
        conn.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", self.https_port), 20),
                                        server_hostname=HOST)
        return conn


def make_certificate(folder: Path) -> tuple[Path, Path, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is missing (Debian's openssl package): scripts/make_tls_cert.sh needs it")
    done = subprocess.run(["bash", str(ROOT / "scripts" / "make_tls_cert.sh"), HOST], capture_output=True, text=True,
                          env={**os.environ, "AFFECTWATCH_TLS_DIR": str(folder)}, timeout=120)
    assert done.returncode == 0, done.stderr
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    der = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"], capture_output=True,
                         check=True).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=der, capture_output=True,
                          check=True).stdout
    return cert, key, base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture()
def site(config: Config, redis_conn: Any, tmp_path: Path) -> Iterator[Site]:
    nginx = ensure_nginx()
    ensure_chart_library()
    cert, key, spki = make_certificate(tmp_path / "tls")
    dash_port, https_port, http_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTWATCH_")}
    env.update(AFFECTWATCH_ENVIRONMENT="production", AFFECTWATCH_SECRET_KEY=SECRET,
               AFFECTWATCH_DATABASE_URL=config.database_url, AFFECTWATCH_REDIS_URL=config.redis_url,
               AFFECTWATCH_TRUSTED_PROXY="127.0.0.1", AFFECTWATCH_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    dash_log = tmp_path / "dashboard.log"
    with dash_log.open("w") as out:
        dashboard = subprocess.Popen([sys.executable, "-m", "affectwatch.cli", "dashboard", "--host", "127.0.0.1",
                                      "--port", str(dash_port), "--threads", "4"], env=env, stdout=out,
                                     stderr=subprocess.STDOUT, text=True)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "affectwatch.conf").write_text(render(TEMPLATE.read_text(), {
        "AFFECTWATCH_UPSTREAM": f"127.0.0.1:{dash_port}", "AFFECTWATCH_HTTPS_PORT": str(https_port),
        "AFFECTWATCH_HTTP_PORT": str(http_port), "AFFECTWATCH_TLS_CERT": str(cert), "AFFECTWATCH_TLS_KEY": str(key)}))
    # What the nginx image's own nginx.conf provides around the included file; here, inside the test's folder.
    (prefix / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {prefix}/nginx.pid;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  access_log {prefix}/access.log;\n  client_body_temp_path {prefix}/body;\n"
        f"  proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n"
        f"  scgi_temp_path {prefix}/scgi;\n  include {prefix}/affectwatch.conf;\n}}\n")
    nginx_log = prefix / "error.log"
    proxy = subprocess.Popen([nginx, "-e", str(nginx_log), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                              "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(dash_port, dashboard, dash_log)
        nginx_log.touch()
        wait_for_port(https_port, proxy, nginx_log)
        yield Site(https_port, http_port, cert, spki)
    finally:
        stop(proxy)
        stop(dashboard)


@pytest.fixture()
def browser(site: Site) -> Iterator[Any]:
    # The test's name resolves to 127.0.0.1, and only this certificate's key is trusted (no other error ignored).
    with chromium(f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                  f"--ignore-certificate-errors-spki-list={site.spki}") as driver:
        yield driver


def test_sign_in_through_the_tls_proxy_in_a_browser(site: Site, browser: Any, config: Config) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with db(config) as conn:
        create_account(conn, "matron", PASSWORD, "admin", "Matron Hughes", FAST_HASH)
    wait = WebDriverWait(browser, WAIT)

    # Plain HTTP sends the browser to HTTPS; the dashboard asks it to sign in there.
    browser.get(f"http://{HOST}:{site.http_port}/alerts/")
    wait.until(ec.presence_of_element_located((By.ID, "username")))
    assert browser.current_url.startswith(f"{site.base}/login"), browser.current_url
    browser.find_element(By.ID, "username").send_keys("matron")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "form[action='/logout']")))
    assert browser.current_url == f"{site.base}/alerts/", "signed in, back where it began"
    cookie = browser.get_cookie("affectwatch_session")
    assert cookie is not None and cookie["secure"] and cookie["httpOnly"]
    browser.get(f"{site.base}/cameras/")
    wait.until(ec.presence_of_element_located((By.ID, "add-camera")))

    # The session and the sign-in were recorded from the browser's address, as the proxy saw it.
    with db(config) as conn:
        session = conn.execute("SELECT remote_addr FROM user_sessions").fetchone()
        signed = conn.execute("SELECT actor, remote_addr FROM audit_log WHERE action = 'sign-in'").fetchall()
    assert session == {"remote_addr": "127.0.0.1"}
    assert signed == [{"actor": "matron", "remote_addr": "127.0.0.1"}]


def test_the_proxy_sends_hsts_and_replaces_forwarded_headers(site: Site, config: Config) -> None:
    conn = site.tls()
    conn.request("GET", "/login")
    page = conn.getresponse()
    page.read()
    assert page.status == 200
    assert page.getheader("Strict-Transport-Security") == "max-age=31536000"
    assert page.getheader("Server") == "nginx", "no version given away"
    # A client's own X-Forwarded-For is not believed: the failure counts against its real address.
    conn.request("POST", "/api/v1/session", body='{"username": "nobody", "password": "guess"}',
                 headers={"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9",
                          "X-Forwarded-Proto": "http"})
    refused = conn.getresponse()
    refused.read()
    assert refused.status in (400, 401, 403)
    conn.close()
    with db(config) as dbc:
        addresses = [r["remote_addr"] for r in dbc.execute("SELECT remote_addr FROM login_failures").fetchall()]
    assert "203.0.113.9" not in addresses


def test_production_refuses_to_serve_without_tls_unless_told(config: Config) -> None:
    from dataclasses import replace

    production = replace(config, environment="production", secret_key=SECRET, password_hash="scrypt")
    with pytest.raises(ConfigError, match=r"AFFECTWATCH_TRUSTED_PROXY.*AFFECTWATCH_ALLOW_PLAIN_HTTP"):
        proxy_settings(production, None)
    assert proxy_settings(replace(production, allow_plain_http=True), None) == {}
    assert proxy_settings(replace(production, trusted_proxy="172.28.0.10"), None)["trusted_proxy"] == "172.28.0.10"
    with pytest.raises(ConfigError, match="not an IP address"):
        proxy_settings(production, "*")
    assert proxy_settings(config, None) == {}, "development may serve plain HTTP"
    env = {"AFFECTWATCH_ENVIRONMENT": "production", "AFFECTWATCH_SECRET_KEY": SECRET, "PATH": "/usr/bin:/bin",
           "AFFECTWATCH_DATABASE_URL": config.database_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "affectwatch.cli", "dashboard", "--port", str(free_port())], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "TLS reverse proxy" in done.stderr, done.stderr

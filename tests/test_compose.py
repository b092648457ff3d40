"""docker-compose.yml is accepted by Compose and holds the services the README promises: the dashboard only
behind the TLS proxy (whose configuration file exists and is the one tests/test_https_proxy.py runs), and the
GPU reservation only in docker-compose.gpu.yml, so that a host without the NVIDIA runtime starts the worker."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
GPU = ROOT / "docker-compose.gpu.yml"


def test_compose_file_has_every_service() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "redis", "migrate", "producer", "worker", "dashboard", "alerts", "history",
            "proxy"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("postgres", "redis", "producer", "worker", "dashboard", "proxy"):
        assert "healthcheck" in services[name], name


def test_the_worker_needs_no_gpu_unless_the_override_asks() -> None:
    worker = yaml.safe_load(COMPOSE.read_text())["services"]["worker"]
    assert "deploy" not in worker or "resources" not in worker["deploy"], "no device reservation in the main file"
    gpu = yaml.safe_load(GPU.read_text())["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and gpu["capabilities"] == ["gpu"]


def test_the_dashboard_is_reached_only_through_the_tls_proxy() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    dashboard, proxy = compose["services"]["dashboard"], compose["services"]["proxy"]
    assert "ports" not in dashboard, "the dashboard's plain HTTP port is not published"
    assert dashboard["environment"]["AFFECTWATCH_ENVIRONMENT"] == "production"
    assert dashboard["environment"]["AFFECTWATCH_TRUSTED_PROXY"] == proxy["networks"]["default"]["ipv4_address"]
    assert "172.28.0.10" in dashboard["environment"]["AFFECTWATCH_TRUSTED_PROXY"]
    assert proxy["environment"]["AFFECTWATCH_UPSTREAM"] == "dashboard:8000"
    mounted = {v.split(":")[0]: v.split(":")[1] for v in proxy["volumes"]}
    assert mounted["./deploy/nginx/affectwatch.conf.template"] == "/etc/nginx/templates/default.conf.template"
    assert (ROOT / "deploy" / "nginx" / "affectwatch.conf.template").is_file()
    assert {"443", "80"} == {p.split(":")[-1] for p in proxy["ports"]}
    tls = {proxy["environment"]["AFFECTWATCH_TLS_CERT"], proxy["environment"]["AFFECTWATCH_TLS_KEY"]}
    assert all(path.startswith(mounted["./secrets/tls"]) for path in tls)


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
@pytest.mark.parametrize("files", [[COMPOSE], [COMPOSE, GPU]])
def test_compose_config_accepts_it(files: list[Path]) -> None:
    args = [a for f in files for a in ("-f", str(f))]
    done = subprocess.run(["docker-compose", *args, "config", "-q"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr

"""docker compose's healthchecks and `monitoring` profile: every long-running service is checked, Prometheus
scrapes each process on the port compose gives it, and the Grafana dashboard asks only for metrics that
the processes export; the `affectwatch health` checks the new healthchecks call."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import psycopg
import redis
import yaml
from prometheus_client import REGISTRY

from affectwatch.alerts import telemetry as _alerts  # noqa: F401  (the metrics each process registers)
from affectwatch.cli.ops import alerts_alive, health, history_alive
from affectwatch.config import Config
from affectwatch.db import connect
from dashboard import telemetry as _dashboard  # noqa: F401
from notifier import delivery_worker
from producer import telemetry as _producer  # noqa: F401
from upkeep import aggregates
from worker import telemetry as _worker  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "monitoring"


def compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return found


def test_every_long_running_service_has_a_healthcheck_and_metrics_port() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if name == "migrate":
            assert service["restart"] == "no"  # a one-shot: compose waits for it to complete instead
            continue
        assert "healthcheck" in service, name
    ports = {"producer": 9101, "worker": 9102, "alerts": 9103, "dashboard": 9104}
    for name, port in ports.items():
        env = services[name]["environment"]
        assert env[f"AFFECTWATCH_{name.upper()}_METRICS_PORT"] == port and env["AFFECTWATCH_METRICS_HOST"] == "0.0.0.0"
    assert services["alerts"]["healthcheck"]["test"][-2:] == ["health", "alerts"]
    assert services["history"]["healthcheck"]["test"][-2:] == ["health", "history"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"], name
        assert all(p.startswith("127.0.0.1:") for p in services[name]["ports"]), name


def test_prometheus_scrapes_each_process_where_compose_serves_it() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = {}
    for job in config["scrape_configs"]:
        if "static_configs" in job:
            targets[job["job_name"]] = job["static_configs"][0]["targets"]
        else:
            sd = job["dns_sd_configs"][0]
            targets[job["job_name"]] = [f"{name}:{sd['port']}" for name in sd["names"]]
    assert targets == {"producer": ["producer:9101"], "worker": ["worker:9102"], "alerts": ["alerts:9103"],
                       "dashboard": ["dashboard:9104"]}
    mounted = compose()["services"]["prometheus"]["volumes"][0]
    assert mounted.startswith("./monitoring/prometheus.yml:")


def exported() -> set[str]:
    """Every sample name the processes' metrics can have."""
    families = list(REGISTRY.collect())
    return {s.name for f in families for s in f.samples} | {
        f.name + suffix for f in families for suffix in ("_total", "_bucket", "_count", "_sum")}


def test_the_alert_rules_are_loaded_and_read_exported_metrics() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    mounted = {v.split(":")[1]: v.split(":")[0] for v in compose()["services"]["prometheus"]["volumes"]}
    (rule_file,) = config["rule_files"]
    rules = yaml.safe_load((ROOT / mounted[rule_file].removeprefix("./")).read_text())
    exprs = [r["expr"] for group in rules["groups"] for r in group["rules"]]
    asked = {name for e in exprs for name in re.findall(r"\b(affectwatch_\w+)", e)}
    assert len(exprs) >= 6 and asked and asked <= exported(), asked - exported()
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert all(set(re.findall(r'job=~?"([^"]+)"', e)[0].split("|")) <= jobs for e in exprs if "job=" in e)


def test_the_grafana_dashboard_reads_only_exported_metrics() -> None:
    board = json.loads((MONITORING / "grafana" / "affectwatch.json").read_text())
    asked = {name for panel in board["panels"] for t in panel["targets"]
             for name in re.findall(r"\b(affectwatch_\w+)", t["expr"])}
    assert len(asked) >= 10 and asked <= exported(), asked - exported()
    provisioning = MONITORING / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert all(p["datasource"]["uid"] == uid for p in board["panels"])
    provider = yaml.safe_load((provisioning / "dashboards" / "affectwatch.yml").read_text())
    volumes = compose()["services"]["grafana"]["volumes"]
    assert any(v.endswith(provider["providers"][0]["options"]["path"] + "/affectwatch.json:ro") for v in volumes)


def test_health_of_history_and_alerts(config: Config, redis_conn: redis.Redis) -> None:
    with connect(config) as conn, conn.transaction():
        aggregates.refresh(conn)
    assert history_alive(config)[0]
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute("UPDATE history_settings SET refreshed_at = now() - interval '1 hour'")
    ok, why = history_alive(config)
    assert not ok and "refreshed" in why
    assert not alerts_alive(config)[0]
    worker = delivery_worker.build_worker(config, redis_conn)
    worker.register_birth()
    try:
        assert alerts_alive(config)[0]
        assert health(argparse.Namespace(process="alerts"), config) == 0
    finally:
        worker.register_death()

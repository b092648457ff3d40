"""Prometheus metrics: each long-running process serves its own on a port of its own.

The metrics are plain prometheus_client objects in the default registry, defined next to the code that
moves them (producer/telemetry.py, worker/telemetry.py, affectwatch/alerts/telemetry.py,
dashboard/telemetry.py); a process exports only those it imports, plus prometheus_client's process
metrics. serve() starts the exporter thread when the process's AFFECTWATCH_<PROCESS>_METRICS_PORT is
not 0, on AFFECTWATCH_METRICS_HOST.

Several workers on one host: each worker is its own process with its own counters, and each binds a
port of its own. serve() with `spread` > 1 takes the first free port of port, port+1, ..., port+spread-1
(the port taken is logged), so N workers on a host answer on N consecutive ports that Prometheus lists
as targets; in docker compose each worker container has its own address and all use the same port.
This was chosen over prometheus_client's multiprocess mode (a shared directory of memory-mapped files)
because a worker killed with SIGKILL cannot clean its files up, and a fresh worker is an ordinary new
target whose counters start at 0, which rate() and increase() already handle.
"""

from __future__ import annotations

import errno
import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from affectwatch.exceptions import ConfigError

log = logging.getLogger(__name__)

WORKER_PORT_SPREAD = 32  # workers on one host: this many consecutive ports are tried


def serve(process: str, port: int, host: str, spread: int = 1) -> WSGIServer | None:
    """Serve the default registry's metrics at http://host:port/metrics (None when port is 0).

    With spread > 1 a taken port is skipped for the next one; when all are taken (or with spread 1, the
    one port) it raises ConfigError naming the setting.
    """
    if port == 0:
        return None
    last = min(65535, port + max(1, spread) - 1)
    for candidate in range(port, last + 1):
        try:
            server, _thread = start_http_server(candidate, addr=host)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise ConfigError(f"AFFECTWATCH_{process.upper()}_METRICS_PORT: cannot listen on "
                                  f"{host}:{candidate}: {exc.strerror}") from exc
            continue
        log.info("%s metrics on http://%s:%d/metrics", process, host, candidate)
        return server
    taken = f"{port}" if last == port else f"{port}-{last}"
    raise ConfigError(f"AFFECTWATCH_{process.upper()}_METRICS_PORT: port(s) {taken} on {host} are in use")


def port_of(server: WSGIServer | None) -> int:
    """The port a server from serve() listens on (0 for none)."""
    return 0 if server is None else int(server.server_address[1])

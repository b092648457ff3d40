"""`affectwatch dashboard`: serve the dashboard with waitress, a production WSGI server in pure Python."""

from __future__ import annotations

import argparse
import ipaddress
import logging
from dataclasses import replace

from affectwatch import telemetry
from affectwatch.config import Config
from affectwatch.exceptions import ConfigError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dashboard", help="serve the web dashboard (waitress)")
    p.add_argument("--host", help="listen address (default: AFFECTWATCH_DASHBOARD_HOST)")
    p.add_argument("--port", type=int, help="listen port (default: AFFECTWATCH_DASHBOARD_PORT)")
    p.add_argument("--threads", type=int, help="worker threads (default: AFFECTWATCH_DASHBOARD_THREADS)")
    p.add_argument("--trusted-proxy", metavar="ADDRESS",
                   help="trust X-Forwarded-For/-Proto from the TLS proxy at this address, and only from it "
                        "(default: AFFECTWATCH_TRUSTED_PROXY)")
    p.set_defaults(handler=serve)


def proxy_settings(config: Config, given: str | None) -> dict[str, object]:
    """waitress's settings for the reverse proxy in front, if any; ConfigError when production would run
    without TLS (no proxy) and AFFECTWATCH_ALLOW_PLAIN_HTTP does not say that is meant."""
    address = (config.trusted_proxy if given is None else given).strip()
    if not address:
        if config.environment == "production" and not config.allow_plain_http:
            raise ConfigError("in production the dashboard runs behind a TLS reverse proxy (docker-compose.yml's proxy "
                              "service, docs/deploy.md): set AFFECTWATCH_TRUSTED_PROXY to its address, or set "
                              "AFFECTWATCH_ALLOW_PLAIN_HTTP=true if TLS is really handled some other way")
        return {}
    try:
        ipaddress.ip_address(address)
    except ValueError as exc:
        raise ConfigError(f"AFFECTWATCH_TRUSTED_PROXY={address!r} is not an IP address (one proxy's, not '*')") from exc
    return {"trusted_proxy": address, "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}}


def serve(args: argparse.Namespace, config: Config) -> int:
    import waitress

    from dashboard import create_app

    if args.threads:
        config = replace(config, dashboard_threads=args.threads)  # as many pooled connections as threads
    app = create_app(config)  # refuses a production configuration with default secrets first
    proxy = proxy_settings(config, args.trusted_proxy)
    telemetry.serve("dashboard", config.dashboard_metrics_port, config.metrics_host)
    host, port = args.host or config.dashboard_host, args.port or config.dashboard_port
    log.info("dashboard on http://%s:%d (%s%s)", host, port, config.environment,
             f", behind the proxy at {proxy['trusted_proxy']}" if proxy else "")
    waitress.serve(app, host=host, port=port, threads=args.threads or config.dashboard_threads,
                   ident="affectwatch", clear_untrusted_proxy_headers=True, **proxy)
    return 0

"""`affectwatch dashboard`: serve the dashboard with waitress, a production WSGI server in pure Python."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

from affectwatch.config import Config

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dashboard", help="serve the web dashboard (waitress)")
    p.add_argument("--host", help="listen address (default: AFFECTWATCH_DASHBOARD_HOST)")
    p.add_argument("--port", type=int, help="listen port (default: AFFECTWATCH_DASHBOARD_PORT)")
    p.add_argument("--threads", type=int, help="worker threads (default: AFFECTWATCH_DASHBOARD_THREADS)")
    p.add_argument("--behind-proxy", action="store_true",
                   help="trust X-Forwarded-For/-Proto from one reverse proxy (TLS terminated there)")
    p.set_defaults(handler=serve)


def serve(args: argparse.Namespace, config: Config) -> int:
    import waitress

    from dashboard import create_app

    if args.threads:
        config = replace(config, dashboard_threads=args.threads)  # as many pooled connections as threads
    app = create_app(config)
    host, port = args.host or config.dashboard_host, args.port or config.dashboard_port
    log.info("dashboard on http://%s:%d (%s)", host, port, config.environment)
    proxy: dict[str, object] = {}
    if args.behind_proxy:
        proxy = {"trusted_proxy": "*", "trusted_proxy_count": 1,
                 "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}}
    waitress.serve(app, host=host, port=port, threads=args.threads or config.dashboard_threads,
                   ident="affectwatch", clear_untrusted_proxy_headers=True, **proxy)
    return 0

"""``oa-mockserver serve --processes N``: N server processes on one port, one Redis store.

Why gunicorn (with aiohttp's own ``GunicornWebWorker``) and not ``SO_REUSEPORT``: gunicorn's
arbiter binds the port once and hands the socket to every worker (port 0 works, and no platform
rule decides which process a connection goes to), restarts a worker that dies (a SIGKILLed
process is replaced while the others serve on), and stops them all on SIGTERM or SIGINT,
waiting ``shutdown_timeout`` for open streams. ``SO_REUSEPORT`` would need our own supervisor for
all three. Each worker builds its app after the fork (its own event loop and Redis connections).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .app import create_app
from .collector import settle_collector
from .config import ServerConfig
from .http import SERVER_OPTIONS

__all__ = ["serve_processes", "shared_problem"]

log = logging.getLogger("oa_mockserver")

#: What the line scripts wait for looks like aiohttp's own (``run_app``).
_RUNNING = "======== Running on http://{host}:{port} ({processes} processes) ========"


def shared_problem(config: ServerConfig, processes: int) -> str | None:
    """Why ``--processes``/``--store`` cannot run as given, or None.

    Checked before serving, so that a missing store, a missing extra or an unreachable Redis is
    one line and exit status 2, not a traceback from every worker.
    """
    if processes < 1:
        return f"--processes must be 1 or more, got {processes}"
    if config.store is None:
        return (
            f"--processes {processes} needs a shared store: add --store redis://HOST:PORT/DB "
            "(each process would otherwise hold its own chats)"
        )
    try:
        from redis import Redis
        from redis.exceptions import RedisError

        if processes > 1:
            import gunicorn  # type: ignore[import-untyped]  # noqa: F401 - presence only
    except ImportError as error:
        return f"--store needs the [redis] extra ({error}): pip install 'oa-toolkit[redis]'"
    try:
        client = Redis.from_url(config.store, socket_connect_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except (RedisError, OSError, ValueError) as error:
        return (
            f"--store: cannot reach Redis ({type(error).__name__}: {error}); start redis-server "
            "or correct the URL (redis://HOST:PORT/DB)"
        )
    return None


def _runner_factory(config: ServerConfig) -> Callable[[], Awaitable[web.AppRunner]]:
    async def make_runner() -> web.AppRunner:
        # in the worker, after the fork: a fresh app, its loop and its own Redis connections
        app = create_app(config)
        app.on_startup.append(_settle_collector)  # last: after what the app's startup builds
        return web.AppRunner(
            app,
            shutdown_timeout=config.shutdown_timeout,
            access_log=None,
            **SERVER_OPTIONS,
        )

    return make_runner


async def _settle_collector(app: web.Application) -> None:
    settle_collector()


def serve_processes(
    config: ServerConfig, processes: int, log_level: str, announce: Callable[[str], None]
) -> int:
    """Run ``processes`` workers of ``config`` (which must name a Redis store) until SIGTERM;
    return the exit status (0 after a clean stop).

    Raises:
        ImportError: gunicorn is not installed (the ``[redis]`` extra).
    """
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # [redis] extra

    factory = _runner_factory(config)

    def when_ready(server: Any) -> None:
        for listener in server.LISTENERS:
            host, port = listener.sock.getsockname()[:2]
            announce(_RUNNING.format(host=host, port=port, processes=processes))

    class _Arbiter(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": [f"{config.host}:{config.port}"],
                "workers": processes,
                "worker_class": "aiohttp.GunicornWebWorker",
                # the time a stopping worker gets for its open streams, plus its cleanup
                "graceful_timeout": max(1, round(config.shutdown_timeout + 1)),
                "accesslog": None,
                "loglevel": log_level.lower(),
                "when_ready": when_ready,
                "proc_name": "oa-mockserver",
            }
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn 24+: one control socket per user would be shared by every server
                settings["control_socket_disable"] = True
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Callable[[], Awaitable[web.AppRunner]]:
            return factory

    try:
        _Arbiter().run()
    except SystemExit as stop:  # the arbiter exits through sys.exit
        return stop.code if isinstance(stop.code, int) else 1
    return 0

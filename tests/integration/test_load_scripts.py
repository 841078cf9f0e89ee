"""The one-off measurement scripts of `ops/load` that profile a command's CPU still run:
each records real transactions (a refused one stops it) and prints its figures. No timing
is asserted."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_command_cpu_prints_the_cpu_per_command_for_each_thread_count() -> None:
    out = run("ops.load.command_cpu", "40", "1", "3")
    figures = re.findall(
        r"^ ?(\d+) thread\(s\): ([\d,]+) us of CPU per command, ([\d,]+) commands/s$", out, re.M
    )
    assert [threads for threads, _, _ in figures] == ["1", "3"]
    assert all(int(cpu.replace(",", "")) > 0 for _, cpu, _ in figures)


def test_asgi_cpu_prints_the_cpu_per_request_of_a_command_and_of_the_baseline() -> None:
    out = run("ops.load.asgi_cpu", "40", "4")
    lines = re.findall(r"^(POST /api/v1/transactions|GET /health): ([\d,]+) us of CPU per request", out, re.M)
    assert [label for label, _ in lines] == ["POST /api/v1/transactions", "GET /health"]

"""A 100,000-row statement imports with bounded memory: the parser keeps one row at a time,
and the whole import (two passes, chunks of 500 appended to the real PostgreSQL) peaks at
about the same resident memory for 100,000 rows as for 10,000."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from commands.statement_files import CsvOptions, StatementLine, read_csv
from tests.conftest import create_database, drop_database
from tests.integration.import_scale import write_statement

pytestmark = pytest.mark.integration
OPTIONS = CsvOptions(description_column="Description", amount_column="Amount", id_column="Reference")


def parse_peak(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            rows = sum(isinstance(row, StatementLine) for row in read_csv(stream, OPTIONS))
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_parser_streams_in_constant_memory(tmp_path: Path) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_statement(small, 1_000)
    write_statement(large, 100_000)
    rows_small, peak_small = parse_peak(small)
    rows_large, peak_large = parse_peak(large)
    assert (rows_small, rows_large) == (1_000, 100_000)
    assert large.stat().st_size > 4_000_000
    # 100 times the rows, the same peak (the 64 KiB sniffing sample and one row dominate).
    assert peak_large < 2 * peak_small + 256 * 1024, (peak_small, peak_large)


def run_import(database: str, rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.import_scale", database, str(rows)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_100k_row_import_peaks_at_the_memory_of_a_10k_row_one() -> None:
    database = create_database()
    try:
        small = run_import(database, 10_000)
        large = run_import(database, 100_000)
    finally:
        drop_database(database)
    assert (small["added"], large["added"]) == (10_000, 100_000)
    print(f"import of 10k rows: {small}; of 100k rows: {large}")
    # Ten times the rows (each with a bank id, so no per-line numbering): the same peak.
    assert large["peak_rss_mib"] < small["peak_rss_mib"] + 8, (small, large)

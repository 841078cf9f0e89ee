"""Run by test_import_scale (and by hand to measure): import an N-row CSV statement into a
fresh account in this process, then print rows, seconds and the process's peak RSS as JSON.

    python -m tests.integration.import_scale DATABASE_URL ROWS
"""

from __future__ import annotations

import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from commands.imports import Imports
from commands.statement_files import CsvOptions, read_csv
from projections.rebuild import prepare
from projections.registry import PROJECTIONS
from queries.db import ReadStore
from tests.integration.helpers import Books

MERCHANTS = ("TESCO STORES", "COSTA COFFEE", "SHELL", "NETFLIX.COM", "AMAZON MKTPLACE", "TFL TRAVEL CH")


def write_statement(path: Path, rows: int, seed: int = 11) -> None:
    """A statement of ``rows`` card payments and salaries over ten years, written as a stream."""
    rng = random.Random(seed)
    start = dt.date(2016, 1, 1)
    with path.open("w", encoding="utf-8") as out:
        out.write("Date,Description,Amount,Reference\n")
        for n in range(rows):
            on = start + dt.timedelta(days=n * 3650 // rows)
            if n % 40 == 0:
                line = f"{on.isoformat()},ACME LTD PAYROLL,{rng.randint(2000, 3000)}.00,PAY-{n}\n"
            else:
                merchant = rng.choice(MERCHANTS)
                amount = f"-{rng.randint(1, 120)}.{rng.randint(0, 99):02d}"
                line = f'{on.isoformat()},"{merchant} {rng.randint(100, 9999)}",{amount},REF-{n}\n'
            out.write(line)


def main(database: str, rows: int) -> None:
    for projection in PROJECTIONS.values():
        prepare(projection, database)
    books = Books(database, cache_size=100)
    reads = ReadStore(database, 2)
    reads.open()
    household = uuid.uuid4()
    account = books.open(household, "Scale")
    imports = Imports(books.ledger, reads)
    options = CsvOptions(description_column="Description", amount_column="Amount", id_column="Reference")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "statement.csv"
        write_statement(path, rows)
        size = path.stat().st_size
        began = time.perf_counter()
        with path.open("rb") as first, path.open("rb") as second:
            streams = iter((first, second))
            report = imports.run(
                household,
                account,
                lambda: read_csv(next(streams), options),
                {"format": "csv", "sha256": "scale"},
                None,
                uuid.uuid4(),
            )
        seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": rows,
                "file_bytes": size,
                "added": report.added,
                "seconds": round(seconds, 2),
                "rows_per_second": round(rows / seconds),
                "peak_rss_mib": round(peak_kib / 1024, 1),
            }
        )
    )
    reads.close()
    books.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

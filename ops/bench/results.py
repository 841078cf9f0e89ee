"""What a bench run measured: lines of numbers with their baselines and targets, as a rich
table for people and as JSON for comparing commits."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True, slots=True)
class Target:
    """What the issue asks of a number (or of its ratio to the baseline)."""

    op: Literal[">=", "<="]
    value: float
    of: Literal["value", "ratio"] = "value"

    def met(self, value: float, ratio: float | None) -> bool | None:
        measured = value if self.of == "value" else ratio
        if measured is None:
            return None
        return measured >= self.value if self.op == ">=" else measured <= self.value

    def text(self, unit: str) -> str:
        return f"{self.op} {self.value:g} {unit}" if self.of == "value" else f"ratio {self.op} {self.value:g}"


@dataclass(slots=True)
class Line:
    """One measured number, with the baseline measured the same way in the same run."""

    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def passed(self) -> bool | None:
        return self.target.met(self.value, self.ratio) if self.target else None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": None
            if self.baseline is None
            else {"name": self.baseline_name, "value": self.baseline},
            "ratio": self.ratio,
            "target": None
            if self.target is None
            else {**asdict(self.target), "text": self.target.text(self.unit)},
            "passed": self.passed,
        }


@dataclass(slots=True)
class WorkloadResult:
    """The lines of one workload, what to know when reading them, and the raw details."""

    name: str
    title: str
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "seconds": round(self.seconds, 2),
            "lines": [line.as_json() for line in self.lines],
            "notes": self.notes,
            "details": self.details,
        }


def git_commit(root: Path) -> dict[str, Any] | None:
    """The commit the code was measured at, and whether the working tree had changes."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        commit = subprocess.run(  # noqa: S603 - fixed arguments
            [git, "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def machine(postgres_version: str) -> dict[str, Any]:
    import os

    import psutil  # type: ignore[import-untyped]

    return {
        "cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": postgres_version,
        # Other work on the machine skews every number: the load when the run began.
        "load_average": [round(n, 2) for n in os.getloadavg()],
    }


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"


def verdict(passed: bool | None) -> str:
    return {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: ""}[passed]


def table(workloads: list[WorkloadResult]) -> Table:
    out = Table(title="fiscaflow bench")
    for column in ("workload", "measure", "value", "baseline", "ratio", "target", ""):
        out.add_column(column, justify="right" if column in ("value", "baseline", "ratio") else "left")
    for workload in workloads:
        for index, line in enumerate(workload.lines):
            baseline = f"{number(line.baseline)} ({line.baseline_name})" if line.baseline is not None else "—"
            out.add_row(
                workload.name if index == 0 else "",
                line.name,
                f"{number(line.value)} {line.unit}",
                baseline,
                number(line.ratio),
                line.target.text(line.unit) if line.target else "",
                verdict(line.passed),
                end_section=index == len(workload.lines) - 1,
            )
    return out


def show(workloads: list[WorkloadResult]) -> None:
    """The table and the notes on the standard output (wide enough when it is a file)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table(workloads))
    for workload in workloads:
        for note in workload.notes:
            console.print(f"[dim]{workload.name}:[/dim] {note}", highlight=False)


def write(path: Path, header: dict[str, Any], workloads: list[WorkloadResult]) -> None:
    document = {**header, "workloads": {w.name: w.as_json() for w in workloads}}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")

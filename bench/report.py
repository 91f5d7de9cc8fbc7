"""The benchmark's table: printed, and written with the command and versions to RESULTS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PACKAGES = ("call-sandbox", "starlette", "uvicorn", "uvloop", "httptools", "orjson", "httpx")


@dataclass(frozen=True, slots=True)
class Row:
    figure: str
    sandbox: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None  # None: reported, no target

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: ""}[self.met]


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def versions(extra: Sequence[str] = ()) -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    return ", ".join([f"Python {platform.python_version()}", *found, *extra, machine])


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def commit() -> str | None:
    """The commit measured, and whether files other than the results differed from it."""
    revision = _git("rev-parse", "--short", "HEAD")
    if not revision:
        return None
    changed = _git("status", "--porcelain", "--", ":/", ":(exclude,top)bench/RESULTS.md")
    return f"{revision} and the working tree's changes" if changed else revision


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| figure | sandbox | reference | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.figure} | {r.sandbox} | {r.reference} | {r.ratio} | {r.target} | {r.verdict} |"
        for r in rows
    ]
    return "\n".join(lines)


def document(
    rows: Sequence[Row], *, command: str, versions_line: str, method: Sequence[str]
) -> str:
    revision = commit()
    at = f" (commit {revision})" if revision else ""
    head = [
        "# Benchmark results",
        "",
        f"Command: `{command}`{at}",
        "",
        f"Versions: {versions_line}",
        "",
        *(f"- {line}" for line in method),
        "",
        table(rows),
        "",
    ]
    return "\n".join(head)

"""Fail when any measured file's line coverage is below a minimum: ``python coverage_gate.py REPORT.json MIN``."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def files_below(report: dict[str, object], minimum: float) -> list[tuple[str, float]]:
    """(file, percent) for every file under ``minimum`` percent line coverage."""
    files = report["files"]
    assert isinstance(files, dict)
    below = []
    for name, data in sorted(files.items()):
        percent = float(data["summary"]["percent_covered"])
        if percent < minimum:
            below.append((name, percent))
    return below


def main(argv: list[str]) -> int:
    report = json.loads(Path(argv[1]).read_text())
    minimum = float(argv[2])
    below = files_below(report, minimum)
    total = float(report["totals"]["percent_covered"])
    sys.stdout.write(f"line coverage {total:.1f}% over {len(report['files'])} files; per-file minimum {minimum:g}%\n")
    for name, percent in below:
        sys.stdout.write(f"  {name}: {percent:.1f}% < {minimum:g}%\n")
    return 1 if below else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

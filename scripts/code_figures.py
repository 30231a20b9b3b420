"""The code's shape in figures, for issue 16's before/after table (docs/architecture.md).

    python scripts/code_figures.py [PACKAGE ...]

Prints, over the packages (bot, handlers, storage, runtime, sandbox unless named): how many
functions, their length in lines (median and 90th percentile), and the files over 300 lines.
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

PACKAGES = ("bot", "handlers", "storage", "runtime", "sandbox")
LONG_FILE_LINES = 300


def function_lengths(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def main(packages: list[str]) -> None:
    files = sorted(p for package in packages for p in Path(package).rglob("*.py"))
    lengths = [n for path in files for n in function_lengths(path)]
    long_files = [p for p in files if line_count(p) > LONG_FILE_LINES]
    p90 = statistics.quantiles(lengths, n=10)[-1]
    print(f"packages: {', '.join(packages)}")
    print(f"functions: {len(lengths)}, length median {statistics.median(lengths):g}, p90 {p90:g}")
    print(f"files over {LONG_FILE_LINES} lines: {len(long_files)}")
    for path in long_files:
        print(f"  {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(PACKAGES))

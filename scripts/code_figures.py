"""The code's shape in figures, for issue 16's before/after table (docs/architecture.md).

    python scripts/code_figures.py [PACKAGE ...]

Prints, over the packages (bot, handlers, storage, runtime, sandbox unless named): how many
functions, their length in lines (median and 90th percentile), and the files over 300 lines;
then the wiring's figures (issue 16, point 1): the transactions storage/ opens itself, the
attributes of ``bot.services.Services``, and the domain modules that name ``Services``.
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

PACKAGES = ("bot", "handlers", "storage", "runtime", "sandbox")
LONG_FILE_LINES = 300
WIRING = Path("bot/services.py")


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
    openings = sum(transaction_openings(p) for p in Path("storage").rglob("*.py"))
    print(f"transactions opened in storage/: {openings}")
    print(f"Services attributes: {len(services_attributes(WIRING))}")
    naming = [p for p in sorted(Path("bot").glob("*.py")) if p != WIRING and names_services(p)]
    print(f"domain modules naming Services: {len(naming)} {' '.join(map(str, naming))}")


def transaction_openings(path: Path) -> int:
    """``async with ….transaction()`` statements in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncWith)
        for item in node.items
        if isinstance(call := item.context_expr, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "transaction"
    )


def services_attributes(path: Path) -> set[str]:
    """The fields of ``Services`` and the attributes its methods set on ``self``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for cls in ast.walk(tree):
        if not (isinstance(cls, ast.ClassDef) and cls.name == "Services"):
            continue
        for node in ast.walk(cls):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and isinstance(node.ctx, ast.Store)
            ):
                names.add(node.attr)
    return names


def names_services(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.Name) and n.id == "Services" for n in ast.walk(tree)) or any(
        isinstance(n, ast.alias) and n.name == "Services" for n in ast.walk(tree)
    )


if __name__ == "__main__":
    main(sys.argv[1:] or list(PACKAGES))

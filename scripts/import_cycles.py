"""Fail when modules of the project import each other in a circle.

import-linter's contracts (pyproject.toml) keep the floors apart; this check keeps each floor
free of circles: module A imports B which (directly or through others) imports A. Imports made
only for type checking (under ``if TYPE_CHECKING:``) are left out: they do not run. The import
graph is grimp's, the library import-linter is built on.

    python scripts/import_cycles.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import grimp

PACKAGES = ("bot", "handlers", "storage", "standin", "runtime", "sandbox", "bench")
# Circles known and not yet untied (docs/architecture.md, "What is left"): none. A new one
# fails the check, and one that is gone must be taken off this list.
KNOWN: frozenset[frozenset[str]] = frozenset()


def circles(graph: grimp.ImportGraph) -> Iterator[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    yield frozenset(component)


def main() -> int:
    graph = grimp.build_graph(
        *PACKAGES, include_external_packages=False, exclude_type_checking_imports=True
    )
    found = set(circles(graph))
    new, gone = found - KNOWN, KNOWN - found
    for circle in sorted(new, key=sorted):
        print("import circle:", " <-> ".join(sorted(circle)))
    for circle in sorted(gone, key=sorted):
        print("no longer a circle, take it off KNOWN:", " <-> ".join(sorted(circle)))
    print(f"import circles: {len(found)} ({len(found & KNOWN)} known, {len(new)} new)")
    return 1 if new or gone else 0


if __name__ == "__main__":
    sys.exit(main())

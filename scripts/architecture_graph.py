"""Print the floors of the tree and who imports whom, as a Mermaid graph drawn from the code.

docs/architecture.md holds its output between two markers; tests/test_architecture.py fails
when the picture no longer matches the code, and this command redraws it:

    python scripts/architecture_graph.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

FLOORS = ("runtime", "sandbox", "handlers", "bot", "storage", "standin")
DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
BEGIN, END = "<!-- graph:begin -->", "<!-- graph:end -->"
# `python -m bot` only hands over to the runtime's CLI: not a dependency of the domain.
ENTRY_POINTS = frozenset({"bot.__main__"})


def edges() -> list[tuple[str, str]]:
    """(importer, imported) between floors, from imports that run (not type-only ones)."""
    graph = grimp.build_graph(
        *FLOORS, include_external_packages=False, exclude_type_checking_imports=True
    )
    found = set()
    for module in graph.modules:
        if module in ENTRY_POINTS:
            continue
        for target in graph.find_modules_directly_imported_by(module):
            importer, imported = module.split(".")[0], target.split(".")[0]
            if importer != imported:
                found.add((importer, imported))
    return sorted(found)


def mermaid() -> str:
    lines = ["```mermaid", "graph TD"]
    lines += [f"    {importer} --> {imported}" for importer, imported in edges()]
    lines.append("```")
    return "\n".join(lines)


def drawn(text: str) -> str:
    """The graph part of the document."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main() -> int:
    picture = mermaid()
    if "--write" in sys.argv:
        text = DOC.read_text(encoding="utf-8")
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n{picture}\n{END}{tail}", encoding="utf-8")
    print(picture)
    return 0


if __name__ == "__main__":
    sys.exit(main())

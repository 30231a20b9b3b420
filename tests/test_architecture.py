"""The picture in docs/architecture.md is the code's: redraw it with
``python scripts/architecture_graph.py --write`` when the floors change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "architecture_graph.py"


def test_the_architecture_picture_matches_the_imports() -> None:
    spec = importlib.util.spec_from_file_location("architecture_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document = module.DOC.read_text(encoding="utf-8")
    assert module.drawn(document) == module.mermaid().strip()

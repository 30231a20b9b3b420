"""Regenerate ``standin/spec.json`` from the Bot API description.

Run: ``python -m standin.make_spec /work/shared/botapi/api.json``. Only the methods the
stand-in implements are kept, and of each parameter only its types and whether it is required.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from standin.methods import METHODS
from standin.spec import SPEC_PATH


def trim(api: dict[str, Any]) -> dict[str, Any]:
    """The spec.json content for the implemented methods."""
    methods: dict[str, Any] = {}
    for name in sorted(METHODS):
        described = api["methods"].get(name)
        if described is None:
            raise SystemExit(f"{name} is not in the Bot API description")
        methods[name] = {
            field["name"]: {"types": field["types"], "required": field["required"]}
            for field in described.get("fields", [])
        }
    source = f"Telegram {api['version']} ({api['release_date']}), api.json"
    return {"source": source, "methods": methods}


def main(argv: list[str]) -> None:
    """Read the api.json named on the command line and write spec.json."""
    if len(argv) != 2:
        raise SystemExit("usage: python -m standin.make_spec path/to/api.json")
    api = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    SPEC_PATH.write_text(render(trim(api)), encoding="utf-8")


def render(spec: dict[str, Any]) -> str:
    """JSON with one parameter per line, so that a regenerated file diffs readably."""
    methods = []
    for name, params in spec["methods"].items():
        lines = [f"   {json.dumps(p)}: {json.dumps(f, sort_keys=True)}" for p, f in params.items()]
        body = "{\n" + ",\n".join(lines) + "\n  }" if lines else "{}"
        methods.append(f"  {json.dumps(name)}: {body}")
    source = json.dumps(spec["source"])
    return f'{{\n "source": {source},\n "methods": {{\n' + ",\n".join(methods) + "\n }\n}\n"


if __name__ == "__main__":
    main(sys.argv)

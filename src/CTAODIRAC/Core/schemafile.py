"""Shipped JSON Schema files: how they are written, and the ``python -m <package> [--write]`` command that
prints or rewrites one (each schema package has a test that fails when its shipped file is stale)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def render(schema: dict[str, Any]) -> str:
    """A schema as its shipped file holds it."""
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def command(argv: list[str] | None, module: str, path: Path, text: Callable[[], str]) -> int:
    """``python -m <module> [--write]``: print the schema, or write it to ``path``."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--write"]:
        path.write_text(text(), encoding="utf-8")
        sys.stderr.write(f"wrote {path}\n")
        return 0
    if args:
        sys.stderr.write(f"usage: python -m {module} [--write]\n")
        return 2
    sys.stdout.write(text())
    return 0

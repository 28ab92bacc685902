"""The JSON Schema of the native production format, generated from :mod:`..models`.

The shipped file ``production.schema.json`` serves editors (yaml-language-server: put
``# yaml-language-server: $schema=<path or URL of the file>`` on the first line of a production file).
A unit test fails when it is stale; regenerate it with::

    python -m CTAODIRAC.Core.Production.schema --write
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from CTAODIRAC.Core.schemafile import command, render

from ..models import ProductionFile

__all__ = ["SCHEMA_PATH", "generate_schema", "schema_text"]

SCHEMA_PATH = Path(__file__).with_name("production.schema.json")


def generate_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a native production file."""
    schema = ProductionFile.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CTAODIRAC production file",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return render(generate_schema())


def main(argv: list[str] | None = None) -> int:
    """``python -m CTAODIRAC.Core.Production.schema [--write]``: print (or write) the schema."""
    return command(argv, "CTAODIRAC.Core.Production.schema", SCHEMA_PATH, schema_text)

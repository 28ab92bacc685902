"""The JSON Schema of the ``dirac:`` CWL hints, generated from :mod:`..hints`.

The shipped file ``dirac-cwl-hints.schema.json`` documents every hint for editors and other tools.
A unit test fails when it is stale; regenerate it with::

    python -m CTAODIRAC.Core.CWL.schema --write
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from CTAODIRAC.Core.schemafile import command, render

from ..hints import DIRAC_NAMESPACE, DiracHint

__all__ = ["SCHEMA_PATH", "generate_schema", "schema_text"]

SCHEMA_PATH = Path(__file__).with_name("dirac-cwl-hints.schema.json")


def generate_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one ``dirac:`` hint (a mapping with its ``class``)."""
    schema = TypeAdapter(DiracHint).json_schema(mode="validation", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": DIRAC_NAMESPACE.rstrip("#"),
        "title": "CTAODIRAC CWL hints (dirac: namespace)",
        "description": f"DIRAC-specific CWL hints; declare `$namespaces: {{dirac: {DIRAC_NAMESPACE}}}`.",
        **schema,
    }


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return render(generate_schema())


def main(argv: list[str] | None = None) -> int:
    """``python -m CTAODIRAC.Core.CWL.schema [--write]``: print (or write) the schema."""
    return command(argv, "CTAODIRAC.Core.CWL.schema", SCHEMA_PATH, schema_text)

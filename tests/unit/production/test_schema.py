"""The shipped JSON Schema is generated from the models and must not be stale."""

from __future__ import annotations

import json

from CTAODIRAC.Core.Production.models import STEP_KINDS, ProductionFile
from CTAODIRAC.Core.Production.schema import SCHEMA_PATH, generate_schema, schema_text

from .conftest import EXAMPLES

REGENERATE = "python -m CTAODIRAC.Core.Production.schema --write"


def test_shipped_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), f"stale JSON Schema: run `{REGENERATE}`"


def test_schema_describes_the_format() -> None:
    schema = generate_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(ProductionFile.model_fields)
    kinds = {
        definition["properties"]["kind"]["const"]
        for definition in schema["$defs"].values()
        if "kind" in definition.get("properties", {})
    }
    assert kinds == set(STEP_KINDS) == {
        "ctapipe-process",
        "ctapipe-merge",
        "ctapipe-train-energy",
        "ctapipe-train-classifier",
        "ctapipe-apply-models",
        "mc-simulation",
        "executable",
    }
    # attribute docstrings become descriptions (what editors show)
    assert "GroupSize" in schema["$defs"]["StepDefaults"]["properties"]["group_size"]["description"]


def test_cli_dumps_the_schema(run_cli) -> None:
    result = run_cli("--schema")
    assert result.code == 0
    assert json.loads(result.stdout) == generate_schema()


def test_native_examples_validate_against_the_schema() -> None:
    jsonschema = __import__("pytest").importorskip("jsonschema")
    from ruamel.yaml import YAML

    for path in EXAMPLES.glob("*.yaml"):
        data = YAML(typ="safe").load(path.read_text())
        if "ProdSteps" in data:
            continue
        jsonschema.validate(data, generate_schema())

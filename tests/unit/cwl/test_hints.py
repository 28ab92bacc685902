"""The dirac: hint models, their shipped JSON Schema, and the hints of the examples."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from CTAODIRAC.Core.CWL.hints import DIRAC_NAMESPACE, HINT_MODELS, JobHint, ProductionHint, StepHint
from CTAODIRAC.Core.CWL.schema import SCHEMA_PATH, generate_schema, schema_text

from .conftest import EXAMPLES

REGENERATE = "python -m CTAODIRAC.Core.CWL.schema --write"


def test_shipped_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), f"stale JSON Schema: run `{REGENERATE}`"


def test_schema_describes_every_hint_class() -> None:
    schema = generate_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    classes = {
        definition["properties"]["class"]["const"]
        for definition in schema["$defs"].values()
        if "class" in definition.get("properties", {})
    }
    assert classes == {f"dirac:{name}" for name in HINT_MODELS}
    step = schema["$defs"]["StepHint"]
    assert step["additionalProperties"] is False
    assert "GroupSize" in step["properties"]["group_size"]["description"]


def test_step_hint_reuses_the_yaml_value_rules() -> None:
    hint = StepHint.model_validate({"class": "dirac:Step", "where": {"phiP": 0, "nsb": [1, 5]}, "group_size": 3})
    assert hint.where == {"phiP": 0, "nsb": [1, 5]} and hint.group_size == 3
    for bad in ({"where": {"sct": True}}, {"plugin": "Fancy"}, {"group_size": 0}, {"grup_size": 1},
                {"kind": "ctapipe-proces"}, {"transformation": "a b"}):
        with pytest.raises(ValidationError):
            StepHint.model_validate({"class": "dirac:Step", **bad})


def test_production_hint_inputs_are_queries_or_datasets() -> None:
    hint = ProductionHint.model_validate(
        {"class": "dirac:Production", "inputs": {"dl0": {"query": {"site": "LaPalma"}}, "old": {"dataset": "d"}}}
    )
    assert type(hint.inputs["dl0"]).__name__ == "QueryInput"
    assert type(hint.inputs["old"]).__name__ == "DatasetInput"
    with pytest.raises(ValidationError):
        ProductionHint.model_validate({"class": "dirac:Production", "matrix": {"sample": []}})


def test_job_hint_outputs() -> None:
    hint = JobHint.model_validate(
        {"class": "dirac:Job", "outputs": {"out": {"lfn": "lfn:///ctao/x/", "metadata": {"data_level": 0}}}}
    )
    assert hint.outputs["out"].metadata == {"data_level": 0}
    with pytest.raises(ValidationError):
        JobHint.model_validate({"class": "dirac:Job", "outputs": {"out": {"lfn": "relative/path"}}})


def test_example_hints_validate_against_the_shipped_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    schema = json.loads(SCHEMA_PATH.read_text())
    seen = set()
    for path in sorted(EXAMPLES.rglob("*.cwl")):
        document = YAML(typ="safe").load(path.read_text())
        assert document["$namespaces"]["dirac"] == DIRAC_NAMESPACE
        holders = [document] + list((document.get("steps") or {}).values())
        for holder in holders:
            for hint in holder.get("hints") or []:
                if str(hint.get("class", "")).startswith("dirac:"):
                    jsonschema.validate(hint, schema)
                    seen.add(hint["class"])
    assert seen == {"dirac:Production", "dirac:Step", "dirac:Job"}

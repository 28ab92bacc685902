"""Golden plans of the CWL examples, and the point of them: the same plan as the YAML examples.

After an intended change, regenerate (and review the diff) with::

    for f in ctapipe_campaign two_step; do
      .venv/bin/python -m CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production \\
        examples/cwl/$f.cwl --json > tests/unit/cwl/golden/$f.json
    done
"""

from __future__ import annotations

import json
import os

import pytest

from CTAODIRAC.Core.CWL import load_cwl_plan

from .conftest import EXAMPLES, GOLDEN, YAML_GOLDEN

WORKFLOWS = sorted(path.stem for path in EXAMPLES.glob("*.cwl"))


def test_every_workflow_example_has_a_golden_plan() -> None:
    assert WORKFLOWS == sorted(path.stem for path in GOLDEN.glob("*.json")) == ["ctapipe_campaign", "two_step"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_json_output_matches_golden(name: str, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parents[1])
    result = run_cli(os.path.join("examples", "cwl", f"{name}.cwl"), "--json")
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (GOLDEN / f"{name}.json").read_text()


@pytest.mark.parametrize("name", WORKFLOWS)
def test_cwl_and_yaml_examples_give_the_same_plan(name: str) -> None:
    """CWL is a second way to write the same production, not a parallel system."""
    assert (GOLDEN / f"{name}.json").read_text() == (YAML_GOLDEN / f"{name}.json").read_text()


def test_campaign_has_29_transformations_in_5_productions() -> None:
    plan = load_cwl_plan(EXAMPLES / "ctapipe_campaign.cwl")
    assert [len(p.steps) for p in plan.productions] == [14, 7, 3, 1, 4]
    classifier = plan.step("train-classifier")
    assert classifier.data_parents == ["apply-energy-gamma-diffuse-classifier", "apply-energy-proton-classifier"]
    assert plan.step("apply-models-gamma-performance").model_parents == ["train-energy", "train-classifier"]
    assert plan.step("train-energy").data_parents == ["merge2-gamma-diffuse-energy"]
    assert plan.step("merge1-proton-classifier").data_parents == ["process-proton-classifier"]


def test_job_descriptions_come_from_the_cwl_files() -> None:
    plan = load_cwl_plan(EXAMPLES / "ctapipe_campaign.cwl")
    process = plan.step("process-gamma-performance").job
    assert process.program == "ctapipe-process" and process.version == "v0.19.2"
    assert process.config == ["/ctao/config/ctapipe/prod6_process.yaml"]  # lfn:// default of a parameter
    assert process.extra["cwl"]["tool"].endswith("tools/ctapipe-process.cwl")
    assert process.extra["cwl"]["files_from_transformation"] == ["input_file"]
    train = plan.step("train-classifier").job
    assert (train.cpu_time, train.processors) == (86400, 8)
    assert train.config == ["/ctao/config/ctapipe/train_particle_classifier.yaml"]
    # ResourceRequirement of a workflow step becomes the job's processors
    two_step = load_cwl_plan(EXAMPLES / "two_step.cwl")
    assert two_step.step("process").job.processors == 2
    assert two_step.step("process").job.input_limit == 10


def test_production_name_override() -> None:
    plan = load_cwl_plan(EXAMPLES / "two_step.cwl", production_name="other")
    assert [p.name for p in plan.productions] == ["other"]
    assert json.dumps(plan.to_json_dict())  # still serialisable

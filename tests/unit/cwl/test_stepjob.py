"""Transformations made from CWL steps: what their jobs run (the step's CommandLineTool, on the task's files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from CTAODIRAC.Core.CWL.jobside import CWLRunConfig, cwltool_command
from CTAODIRAC.Core.CWL.stepjob import (
    CWLStepJob,
    TaskBindingError,
    is_file_type,
    output_files,
    query_matches,
    task_job_orders,
)
from CTAODIRAC.Core.JobSide import Software, decode_config, encode_config, step_config
from CTAODIRAC.Core.Production.loader import load_plan

from .conftest import EXAMPLES


@pytest.fixture(scope="module")
def two_step():
    return load_plan(EXAMPLES / "two_step.cwl")


@pytest.fixture(scope="module")
def campaign():
    return load_plan(EXAMPLES / "ctapipe_campaign.cwl")


def _job(plan, name: str) -> CWLStepJob:
    return CWLStepJob.model_validate(plan.step(name).job.extra["cwl_step"])


def test_each_workflow_step_carries_its_tool_and_bindings(two_step):
    process, merge = _job(two_step, "process"), _job(two_step, "merge")
    assert process.tool == "process.cwl" and process.program == "ctapipe-process"
    assert process.document["class"] == "CommandLineTool" and process.document["cwlVersion"] == "v1.2"
    assert process.file_inputs == {"input_file": []}  # the catalog input: any file of the task
    assert process.arrays == []
    assert process.config_inputs == {
        "config": {"class": "File", "location": "lfn:///ctao/config/ctapipe/prod6_process.yaml"}}
    # the merge reads process's outputs: its input takes the files of process's output query
    assert merge.file_inputs == {"input_files": [dict(two_step.step("process").output_query)]}
    assert merge.arrays == ["input_files"]


def test_foreach_steps_bind_their_own_expansion_and_models(campaign):
    merge = _job(campaign, "merge1-proton-classifier")
    (query,) = merge.file_inputs["input_files"]
    assert query == dict(campaign.step("process-proton-classifier").output_query)
    classifier = _job(campaign, "train-classifier")
    assert classifier.file_inputs["signal"][0]["particle"] == {"=": "gamma-diffuse"}
    assert classifier.file_inputs["background"][0]["particle"] == {"=": "proton"}
    apply = _job(campaign, "apply-models-gamma-performance")
    assert apply.model_inputs == {"models": ["train-energy", "train-classifier"]} and apply.arrays == ["models"]


def test_the_step_config_of_a_cwl_step_runs_its_tool(two_step):
    step = two_step.step("merge")
    config = step_config(step, "/ctao/out/merge", "SE", software=Software(kind="path", location="/sw"))
    assert config.cwl is not None and config.program == "ctapipe-merge"
    assert decode_config(encode_config(config)) == config
    yaml_like = config.model_copy(update={"cwl": None})
    assert "cwl" not in json.loads(__import__("base64").urlsafe_b64decode(encode_config(yaml_like)))


def _step(**update) -> CWLStepJob:
    base = {"tool": "t.cwl", "document": {"class": "CommandLineTool"}, "file_inputs": {"input_file": []}}
    return CWLStepJob.model_validate({**base, **update})


def test_a_single_file_input_given_several_files_runs_once_per_file():
    step = _step(config_inputs={"config": {"class": "File", "location": "lfn:///ctao/cfg/p.yaml"}},
                 parameters={"label": "x"})
    orders = task_job_orders(step, ["a.dl0", "b.dl0"], [{}, {}])
    assert orders == [
        {"label": "x", "config": {"class": "File", "location": "p.yaml"},
         "input_file": {"class": "File", "location": name}} for name in ("a.dl0", "b.dl0")]


def test_an_array_input_takes_every_file_and_models_go_in_order():
    step = _step(file_inputs={"input_files": []}, model_inputs={"models": ["energy", "classifier"]},
                 arrays=["input_files", "models"])
    (order,) = task_job_orders(step, ["a.h5", "b.h5"], [{}, {}], {"classifier": "c.pkl", "energy": "e.pkl"})
    assert [f["location"] for f in order["input_files"]] == ["a.h5", "b.h5"]
    assert [f["location"] for f in order["models"]] == ["e.pkl", "c.pkl"]
    with pytest.raises(TaskBindingError, match="no model file of classifier"):
        task_job_orders(step, ["a.h5"], [{}], {"energy": "e.pkl"})


def test_files_go_to_the_input_whose_parents_produce_them():
    step = _step(file_inputs={"signal": [{"particle": {"=": "gamma-diffuse"}, "data_level": {"=": 2}}],
                              "background": [{"particle": {"in": ["proton", "electron"]}}]})
    (order,) = task_job_orders(step, ["p.h5", "g.h5"], [{"particle": "proton"}, {"particle": "gamma-diffuse",
                                                                                  "data_level": "2"}])
    assert order["signal"]["location"] == "g.h5" and order["background"]["location"] == "p.h5"
    with pytest.raises(TaskBindingError, match="fits several"):
        task_job_orders(step, ["x.h5"], [{}])  # no metadata to tell
    with pytest.raises(TaskBindingError, match="no input file of this task goes to it"):
        task_job_orders(step, ["p.h5"], [{"particle": "proton"}])


def test_small_helpers():
    assert is_file_type("File") == (True, False) and is_file_type("File[]") == (True, True)
    assert is_file_type(["null", {"type": "array", "items": "File"}]) == (True, True)
    assert is_file_type("string") == (False, False)
    assert query_matches({"phiP": {"=": 0}, "nsb": {"in": [1, 5]}}, {"phiP": "0", "nsb": 5})
    assert not query_matches({"phiP": {"=": 0}}, {"phiP": 180})
    assert output_files({"a": {"class": "File", "path": "/x/a"}, "b": [{"class": "File", "path": "/x/b"}],
                         "n": None}) == ["/x/a", "/x/b"]


FAKE_PROCESS = """#!/bin/sh
for arg in "$@"; do case "$arg" in --input=*) in="${arg#--input=}";; --output=*) out="${arg#--output=}";;
  --config=*) cfg="${arg#--config=}";; esac; done
echo "$(basename "$in") $(cat "$cfg")" > "$out"
"""


def test_the_job_orders_run_with_the_worker_command_line(two_step, tmp_path: Path):
    """What dirac-ctao-run-step does with a process task of two files: two cwltool runs of the example tool."""
    step = _job(two_step, "process")
    software = tmp_path / "sw" / "bin"
    software.mkdir(parents=True)
    (software / "ctapipe-process").write_text(FAKE_PROCESS)
    (software / "ctapipe-process").chmod(0o755)
    work = tmp_path / "job"
    work.mkdir()
    for name, text in (("a.dl0", "a"), ("b.dl0", "b"), ("prod6_process.yaml", "cfg")):
        (work / name).write_text(text + "\n")
    (work / step.tool).write_text(json.dumps(step.document))
    outputs = []
    for index, order in enumerate(task_job_orders(step, ["a.dl0", "b.dl0"], [{}, {}])):
        (work / f"order{index}.json").write_text(json.dumps(order))
        command = cwltool_command(sys.executable, CWLRunConfig(tool=step.tool), "none", outdir=f"out/{index}",
                                  job_order=f"order{index}.json")
        command = Software(kind="path", location=str(software.parent)).wrap(command)
        proc = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300,
                              env={**os.environ})
        assert proc.returncode == 0, proc.stderr[-3000:]
        outputs += output_files(json.loads(proc.stdout))
    assert [Path(path).name for path in outputs] == ["a.dl2.h5", "b.dl2.h5"]
    assert Path(outputs[1]).read_text() == "b.dl0 cfg\n"


SEAM = """\
format: 1
inputs:
  events:
    query: {site: Paranal, data_level: 0}
productions:
  - name: toy
    steps:
      - name: count
        kind: executable
        executable: python3
        cwl: job/count_events.cwl
        input: events
"""


def test_a_yaml_step_with_cwl_runs_the_tool_on_its_task_files(tmp_path):
    import shutil

    shutil.copytree(EXAMPLES / "job", tmp_path / "job")
    (tmp_path / "p.yaml").write_text(SEAM)
    plan = load_plan(tmp_path / "p.yaml")
    step = _job(plan, "count")
    assert step.file_inputs == {"events": []} and step.program == "python3"
    assert step.container_image == "python:3.11-slim" and step.tool == "count_events.cwl"
    config = step_config(plan.step("count"), "/ctao/out/count", "SE")
    assert config.cwl == step and config.program == "python3"
    (order,) = task_job_orders(step, ["e1.txt"], [{}])
    assert order == {"events": {"class": "File", "location": "e1.txt"}}


def test_a_yaml_step_tool_needs_one_open_file_input(tmp_path):
    from CTAODIRAC.Core.Production.errors import ProductionSpecError

    shutil_tool = (EXAMPLES / "job" / "count_events.cwl").read_text().replace(
        "  events:\n    type: File\n", "  events:\n    type: File\n    default: {class: File, location: events.txt}\n")
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "events.txt").write_text("1 2\n")
    (tmp_path / "job" / "count_events.cwl").write_text(shutil_tool)
    (tmp_path / "p.yaml").write_text(SEAM)
    with pytest.raises(ProductionSpecError, match="this tool has none"):
        load_plan(tmp_path / "p.yaml")


def test_a_single_tool_with_a_production_hint_is_one_transformation():
    tool = Path(__file__).with_name("data") / "process_gammas.cwl"
    plan = load_plan(tool)
    (step,) = plan.steps
    assert (step.production, step.name, step.type) == ("gammas-dl2", "process_gammas", "DataReprocessing")
    assert step.input_query["particle"] == {"=": "gamma"} and step.input_query["data_level"] == {"=": 0}
    assert step.job.config == ["/ctao/config/ctapipe/prod6_process.yaml"]
    job = _job(plan, "process_gammas")
    assert job.file_inputs == {"input_file": []} and list(job.config_inputs) == ["config"]
    assert job.document["baseCommand"] == "ctapipe-process"
    assert load_plan(tool) == plan  # the same plan each time (no temporary path in it)


def test_a_single_tool_without_a_production_hint_is_refused(tmp_path):
    from CTAODIRAC.Core.Production.errors import ProductionSpecError

    with pytest.raises(ProductionSpecError, match="dirac:Production hint"):
        load_plan(EXAMPLES / "tools" / "ctapipe-merge.cwl")

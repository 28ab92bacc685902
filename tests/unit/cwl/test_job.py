"""A CommandLineTool + inputs file -> the description of one DIRAC job (pure data)."""

from __future__ import annotations

import textwrap

import pytest

from CTAODIRAC.Core.CWL import load_cwl_job
from CTAODIRAC.Core.Production.errors import ProductionSpecError

from .conftest import EXAMPLES

JOB = EXAMPLES / "job"

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  dirac:Job:
    job_name: reco
    sites: [LCG.CNAF.it]
    outputs:
      dl2: {lfn: "lfn:///ctao/user/x/dl2/", metadata: {data_level: 2}, se: CNAF-Disk}
  DockerRequirement: {dockerImageId: ctapipe:0.19.2}
  SoftwareRequirement:
    packages:
      ctapipe: {version: ["0.19.2"]}
requirements:
  ResourceRequirement: {coresMin: 4, coresMax: 8, ramMin: 8000}
baseCommand: [ctapipe-process]
inputs:
  data: File[]
  calibration: File
  config: File?
  threshold: {type: float, default: 1.5}
outputs:
  dl2: {type: File, outputBinding: {glob: "*.dl2.h5"}}
  provenance: {type: File, outputBinding: {glob: provenance.log}}
  err: stderr
stderr: reco.err
"""


@pytest.fixture
def tool(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calib.fits").write_text("calibration")
    (tmp_path / "reco.cwl").write_text(TOOL)
    return tmp_path / "reco.cwl"


def write_inputs(tmp_path, text: str):
    path = tmp_path / "inputs.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_lfn_inputs_are_input_data_local_files_go_to_the_sandbox(tool, tmp_path) -> None:
    inputs = write_inputs(tmp_path, """\
        data:
          - {class: File, location: "lfn:///ctao/dl0/a.simtel.zst"}
          - {class: File, location: "LFN:/ctao/dl0/b.simtel.zst"}
        calibration: {class: File, path: calib.fits}
    """)
    job = load_cwl_job(tool, inputs)
    assert job.input_data == ["/ctao/dl0/a.simtel.zst", "/ctao/dl0/b.simtel.zst"]
    assert job.input_sandbox == [str(tool), str(inputs), str(tmp_path / "calib.fits")]
    assert job.inputs["threshold"] == 1.5  # default of the tool
    assert job.name == "reco" and job.executable == "ctapipe-process" and job.sites == ["LCG.CNAF.it"]


def test_lfn_outputs_are_output_data_the_rest_the_output_sandbox(tool, tmp_path) -> None:
    job = load_cwl_job(tool, write_inputs(tmp_path, "data: []\ncalibration: {class: File, path: calib.fits}\n"))
    assert [(o.output, o.glob, o.lfn, o.metadata, o.se) for o in job.output_data] == [
        ("dl2", "*.dl2.h5", "/ctao/user/x/dl2/", {"data_level": 2}, "CNAF-Disk")
    ]
    assert job.output_sandbox == ["provenance.log", "reco.err"]


def test_requirements_become_job_requirements(tool, tmp_path) -> None:
    job = load_cwl_job(tool, write_inputs(tmp_path, "data: []\ncalibration: {class: File, path: calib.fits}\n"))
    assert (job.processors, job.max_processors, job.memory_mb) == (4, 8, 8000)
    assert job.container_image == "ctapipe:0.19.2"
    assert [(p.package, p.version) for p in job.software] == [("ctapipe", "0.19.2")]


def test_example_job_on_the_grid() -> None:
    job = load_cwl_job(JOB / "count_events.cwl", JOB / "count_events.grid.yaml")
    assert job.input_data == ["/ctao/simpipe/toy/events_001.txt"]
    assert job.input_sandbox == [str(JOB / "count_events.cwl"), str(JOB / "count_events.grid.yaml")]
    assert [o.lfn for o in job.output_data] == ["/ctao/user/t/toy/count_events/"]
    assert job.output_sandbox == ["count_events.log"]
    assert (job.processors, job.memory_mb, job.cpu_time) == (1, 256, 600)
    assert job.container_image == "python:3.11-slim"
    local = load_cwl_job(JOB / "count_events.cwl", JOB / "count_events.local.yaml")
    assert local.input_data == [] and str(JOB / "events.txt") in local.input_sandbox


@pytest.mark.parametrize(
    ("inputs", "where", "fragment"),
    [
        ("data: []\ncalibration: {class: File, path: calib.fits}\ncalibrate: 1\n", "inputs.yaml:3:12: calibrate",
         "'calibrate' is not an input of the tool"),
        ("data: []\n", "inputs.yaml", "no value for the required input 'calibration'"),
        ("data: []\ncalibration: {class: File, path: missing.fits}\n", "inputs.yaml:2:34: calibration.path",
         "does not exist"),
    ],
)
def test_bad_inputs_are_located(tool, tmp_path, inputs: str, where: str, fragment: str) -> None:
    with pytest.raises(ProductionSpecError) as info:
        load_cwl_job(tool, write_inputs(tmp_path, inputs))
    assert fragment in str(info.value)
    assert str(info.value.first).startswith(where), str(info.value)


def test_output_hint_for_an_unknown_output(tool, tmp_path) -> None:
    tool.write_text(TOOL.replace("      dl2: {lfn", "      dl3: {lfn"))
    with pytest.raises(ProductionSpecError) as info:
        load_cwl_job(tool, write_inputs(tmp_path, "data: []\ncalibration: {class: File, path: calib.fits}\n"))
    assert "reco.cwl:10:7: hints.dirac:Job.outputs.dl3: 'dl3' is not an output of the tool" in str(info.value)


def test_a_workflow_is_one_job_but_not_a_step_template() -> None:
    with pytest.raises(ProductionSpecError, match="no value for the required input 'south-protons' of the workflow"):
        load_cwl_job(EXAMPLES / "two_step.cwl")
    with pytest.raises(ProductionSpecError, match="a Workflow is not one job: give a CommandLineTool"):
        load_cwl_job(EXAMPLES / "two_step.cwl", require_inputs=False)

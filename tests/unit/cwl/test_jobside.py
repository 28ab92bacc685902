"""The job side of one CWL job, pure part (CTAODIRAC.Core.CWL.jobside): the DIRAC job's settings, the
worker's job order and cwltool command, where outputs go and how their metadata is set."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from CTAODIRAC.Core.CWL import load_cwl_job
from CTAODIRAC.Core.CWL.job import OutputData
from CTAODIRAC.Core.CWL.jobside import (
    CWLTOOL_ENTRY,
    JOB_ORDER,
    LOG_FILE,
    OUTPUTS_JSON,
    CWLRunConfig,
    OutputError,
    catalog_uploads,
    container_options,
    cwltool_command,
    decode_run_config,
    job_settings,
    localize_job_order,
    metadata_plan,
    sandbox_copies,
    sandbox_job_order,
    sandbox_place,
)
from CTAODIRAC.Core.Production.errors import SpecValidationError

from .conftest import EXAMPLES

JOB = EXAMPLES / "job"
TOOL = JOB / "count_events.cwl"


def test_the_example_grid_job_as_dirac_job_settings() -> None:
    settings = job_settings(load_cwl_job(TOOL, JOB / "count_events.grid.yaml"))
    assert settings.name == "count_events"
    assert settings.executable == "dirac-ctao-cwl-run" and settings.log_file == LOG_FILE
    assert [Path(p).name for p in settings.input_sandbox] == ["count_events.cwl", "count_events.grid.yaml"]
    assert settings.input_data == ["/ctao/simpipe/toy/events_001.txt"]
    assert settings.output_sandbox == [LOG_FILE, OUTPUTS_JSON, "count_events.log"]
    assert (settings.cpu_time, settings.memory_mb, settings.tags) == (600, 256, ["toy"])
    assert settings.processor_arguments() == {}  # coresMin 1: an ordinary single-processor job
    config = decode_run_config(settings.arguments)
    assert config == settings.config
    assert config.tool == "count_events.cwl" and config.container_image == "python:3.11-slim"
    assert config.job_order == {"events": {"class": "File", "location": "lfn:///ctao/simpipe/toy/events_001.txt"},
                                "label": "grid-test"}
    assert [(o.output, o.lfn, o.metadata) for o in config.output_data] == [
        ("summary", "/ctao/user/t/toy/count_events/", {"data_level": 3, "outputType": "Data"})]
    assert config.sandbox_outputs == {"log": "count_events.log"}
    assert job_settings(load_cwl_job(TOOL, JOB / "count_events.grid.yaml"), "renamed").name == "renamed"


def test_the_argument_is_one_shell_word() -> None:
    settings = job_settings(load_cwl_job(TOOL, JOB / "count_events.local.yaml"))
    assert settings.arguments.replace("-", "").replace("_", "").replace("=", "").isalnum()


def _tool(tmp_path: Path, resources: str = "", outputs: str = "") -> Path:
    text = f"""\
        cwlVersion: v1.2
        class: CommandLineTool
        $namespaces:
          dirac: https://ctao.org/dirac/cwl#
        requirements:
          ResourceRequirement: {{{resources}}}
        baseCommand: cat
        inputs:
          a: {{type: File, inputBinding: {{position: 1}}}}
          b: {{type: "File[]?", inputBinding: {{position: 2}}}}
        stdout: out.txt
        outputs:
          out: {{type: stdout}}
        {outputs}"""
    path = tmp_path / "tool.cwl"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("resources", "expected"),
    [("coresMin: 1", {}), ("coresMin: 4", {"numberOfProcessors": 4}),
     ("coresMin: 2, coresMax: 8", {"minNumberOfProcessors": 2, "maxNumberOfProcessors": 8}),
     ("coresMax: 8", {"minNumberOfProcessors": 1, "maxNumberOfProcessors": 8}), ("", {})],
)
def test_resource_requirement_becomes_the_processors_of_the_job(tmp_path, resources, expected) -> None:
    (tmp_path / "a.txt").write_text("a")
    inputs = tmp_path / "in.yaml"
    inputs.write_text("a: {class: File, path: a.txt}\n")
    assert job_settings(load_cwl_job(_tool(tmp_path, resources), inputs)).processor_arguments() == expected


def test_settings_refuse_what_cannot_work_on_the_worker(tmp_path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "a.txt").write_text(sub)
    inputs = tmp_path / "in.yaml"
    inputs.write_text("a: {class: File, path: x/a.txt}\nb: [{class: File, path: y/a.txt}]\n")
    with pytest.raises(SpecValidationError, match="two input files would have the same name 'a.txt'"):
        job_settings(load_cwl_job(_tool(tmp_path), inputs))
    inputs.write_text("a: {class: File, path: x/a.txt}\nb: [{class: File, location: 'lfn:///ctao/d/a.txt'}]\n")
    with pytest.raises(SpecValidationError, match="same name 'a.txt'"):
        job_settings(load_cwl_job(_tool(tmp_path), inputs))
    inputs.write_text("a: {class: File, path: x/a.txt}\n")
    with pytest.raises(SpecValidationError, match=r"coresMax \(2\) is below coresMin \(4\)"):
        job_settings(load_cwl_job(_tool(tmp_path, "coresMin: 4, coresMax: 2"), inputs))
    hint = """hints:
          - class: dirac:Job
            outputs:
              out: {lfn: "lfn:///ctao/x/", metadata: {site: [a, b]}}"""
    with pytest.raises(SpecValidationError, match="metadata 'site' must be one value"):
        job_settings(load_cwl_job(_tool(tmp_path, outputs=hint), inputs))


def test_local_files_are_named_as_the_sandbox_delivers_them_and_lfns_as_downloaded() -> None:
    inputs = {
        "a": {"class": "File", "path": "data/sub/a.txt", "secondaryFiles": [{"class": "File", "location": "../b.idx"}]},
        "c": [{"class": "File", "location": "file:///abs/dir/c%20d.txt"},
              {"class": "File", "location": "LFN:/ctao/x/e.h5"}],
        "url": {"class": "File", "location": "https://example.org/f.txt"},
        "n": 3,
    }
    order = sandbox_job_order(inputs)
    assert order["a"] == {"class": "File", "path": "a.txt", "secondaryFiles": [{"class": "File", "location": "b.idx"}]}
    assert order["c"] == [{"class": "File", "location": "c d.txt"}, {"class": "File", "location": "LFN:/ctao/x/e.h5"}]
    assert order["url"] == inputs["url"] and order["n"] == 3
    assert inputs["a"]["path"] == "data/sub/a.txt"  # a copy: the description is untouched
    local, names = localize_job_order({**order, "g": {"class": "File", "location": "lfn:///ctao/y/g.txt"},
                                       "h": {"class": "File", "location": "lfn:///ctao/z/g.txt"}})
    assert local["c"][1] == {"class": "File", "location": "e.h5"}
    assert local["g"]["location"] == "g.txt" and local["a"] == order["a"]
    assert names == ["e.h5", "g.txt"]


@pytest.mark.parametrize(
    ("glob", "expected"),
    [("summary.json", ("summary.json", ".")), ("out/*.txt", ("*.txt", ".")), ("$(inputs.name).h5", ("o", "o")),
     (None, ("o", "o")), ("a.txt b.txt", ("o", "o"))],
)
def test_sandbox_place(glob, expected) -> None:
    assert sandbox_place("o", glob) == expected


def test_cwltool_runs_without_container_unless_the_cs_names_a_runtime() -> None:
    assert container_options(None, "singularity") == ["--no-container"]
    assert container_options("img", "none") == ["--no-container"]
    assert container_options("img", "apptainer") == ["--singularity"]
    assert container_options("img", "podman") == ["--podman"]
    assert container_options("img", "docker") == []
    with pytest.raises(ValueError, match="'rkt' is not one of"):
        container_options("img", "rkt")
    command = cwltool_command("/py", CWLRunConfig(tool="t.cwl", container_image="img"), "podman")
    assert command[:3] == ["/py", "-c", CWLTOOL_ENTRY] and "--podman" in command
    assert command[-2:] == ["t.cwl", JOB_ORDER] and command[command.index("--outdir") + 1] == "cwl-outdir"


def _file(path: str) -> dict:
    return {"class": "File", "location": f"file://{path}", "path": path, "basename": Path(path).name}


def test_catalog_uploads_follow_the_lfn_of_each_output() -> None:
    config = CWLRunConfig(tool="t.cwl", output_data=[
        OutputData(output="one", lfn="/ctao/a/one.h5", metadata={"k": 1}),
        OutputData(output="many", lfn="/ctao/b/", se="OTHER-SE"),
    ])  # fmt: skip
    outputs = {"one": _file("/w/out/x.h5"), "many": [_file("/w/out/m1.txt"), _file("/w/out/m2.txt")]}
    uploads = catalog_uploads(config, outputs, "DEFAULT-SE")
    assert [(u.output, u.path, u.lfn, u.se, u.metadata) for u in uploads] == [
        ("one", "/w/out/x.h5", "/ctao/a/one.h5", "DEFAULT-SE", {"k": 1}),
        ("many", "/w/out/m1.txt", "/ctao/b/m1.txt", "OTHER-SE", {}),
        ("many", "/w/out/m2.txt", "/ctao/b/m2.txt", "OTHER-SE", {}),
    ]
    with pytest.raises(OutputError, match="'one': the tool produced no file") as missing:
        catalog_uploads(config, {**outputs, "one": None}, "SE")
    assert missing.value.stage == "payload"
    with pytest.raises(OutputError, match="2 files for the single LFN /ctao/a/one.h5"):
        catalog_uploads(config, {**outputs, "one": outputs["many"]}, "SE")
    with pytest.raises(OutputError, match="no storage element") as no_se:
        catalog_uploads(config, outputs, "")
    assert no_se.value.stage == "upload"
    twice = CWLRunConfig(tool="t.cwl", output_data=[OutputData(output="many", lfn="/ctao/b/")])
    with pytest.raises(OutputError, match="two files would be registered at /ctao/b/m.txt"):
        catalog_uploads(twice, {"many": [_file("/w/1/m.txt"), _file("/w/2/m.txt")]}, "SE")


def test_sandbox_outputs_are_copied_where_the_output_sandbox_finds_them() -> None:
    config = CWLRunConfig(tool="t.cwl", sandbox_outputs={"log": "logs/run.log", "named": "$(inputs.x)", "opt": "o.txt"})
    copies = sandbox_copies(config, {"log": _file("/w/out/logs/run.log"), "named": [_file("/w/out/n1.h5")],
                                     "opt": None})
    assert copies == [("/w/out/logs/run.log", "run.log"), ("/w/out/n1.h5", "named/n1.h5")]


def test_metadata_goes_where_the_catalog_declares_it() -> None:
    plan = metadata_plan({"data_level": 2, "split": "train", "nsb": 5, "tag": "x", "ok": True},
                         directory_fields={"data_level": "INT"}, file_fields={"split": "VARCHAR(128)"},
                         directory_values={})
    assert plan.file == {"split": "train", "nsb": 5}
    assert plan.directory == {"data_level": 2, "tag": "x", "ok": 1}
    assert plan.declare_file == {"nsb": "int"}  # a file-level field of the productions
    assert plan.declare_directory == {"tag": "str", "ok": "int"}
    assert plan.conflicts == []
    held = metadata_plan({"data_level": 2, "site": "Paranal"}, {"data_level": "INT", "site": "VARCHAR(128)"}, {},
                         {"data_level": 2, "site": "LaPalma"})
    assert held.directory == {}  # data_level already there with the same value
    assert held.conflicts == ["site: the directory holds 'LaPalma', the output wants 'Paranal'"]


def test_the_worker_job_order_runs_with_cwltool_in_a_flat_working_directory(tmp_path) -> None:
    """What the worker does up to cwltool, with the files placed as DIRAC would: the sandbox files and the
    downloaded input data side by side in one directory."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(JOB / "events.txt", data / "events.txt")
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("events: {class: File, path: data/events.txt}\nlabel: flat\nmin_energy: 1.0\n")
    settings = job_settings(load_cwl_job(TOOL, inputs))
    work = tmp_path / "work"
    work.mkdir()
    for path in settings.input_sandbox:
        shutil.copy(path, work)
    order, names = localize_job_order(settings.config.job_order)
    assert names == []
    (work / JOB_ORDER).write_text(json.dumps(order))
    proc = subprocess.run(cwltool_command(sys.executable, settings.config, "none"), cwd=work, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    outputs = json.loads(proc.stdout)
    assert json.loads(Path(outputs["summary"]["path"]).read_text()) == {"label": "flat", "events": 5, "kept": 2}
    assert sandbox_copies(settings.config, outputs) == [(outputs["log"]["path"], "count_events.log")]
    (upload,) = catalog_uploads(settings.config, outputs, "SE")
    assert (upload.path, upload.lfn) == (outputs["summary"]["path"], "/ctao/user/t/toy/count_events/summary.json")


def test_the_cwltool_command_fails_when_the_tool_fails(tmp_path) -> None:
    """The worker reads the tool's fate from cwltool's exit code (``python -m cwltool`` would always give 0)."""
    (tmp_path / "bad.txt").write_text("1 not-a-number\n")
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("events: {class: File, path: bad.txt}\nmin_energy: 1.0\n")
    settings = job_settings(load_cwl_job(TOOL, inputs))
    shutil.copy(TOOL, tmp_path / "count_events.cwl")
    (tmp_path / JOB_ORDER).write_text(json.dumps(settings.config.job_order))
    proc = subprocess.run(cwltool_command(sys.executable, settings.config, "none"), cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "ValueError" in proc.stderr and "permanentFail" in proc.stderr

"""``dirac-ctao-submit-cwl-job``: dry run, --json, located errors (exit 2), --submit without DIRAC."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from CTAODIRAC.Core.CWL import load_cwl_job

from .conftest import EXAMPLES

JOB = EXAMPLES / "job"
TOOL = str(JOB / "count_events.cwl")
GRID = str(JOB / "count_events.grid.yaml")


def test_dry_run_shows_the_job(submit_cli) -> None:
    result = submit_cli(TOOL, GRID)
    assert result.code == 0, result.stderr
    for text in ("/ctao/simpipe/toy/events_001.txt", "summary → /ctao/user/t/toy/count_events/<file name>",
                 '{"data_level": 3, "outputType": "Data"}', "count_events.log", "256 MB", "600 s",
                 "python:3.11-slim", "dirac-ctao-cwl-run → cwltool count_events.cwl", "nothing was sent to DIRAC"):
        assert text in result.stdout, text


def test_json_is_the_job_description(submit_cli) -> None:
    result = submit_cli(TOOL, GRID, "--json")
    assert result.code == 0 and result.stderr == ""
    assert json.loads(result.stdout) == load_cwl_job(TOOL, GRID).model_dump(mode="json")
    renamed = submit_cli(TOOL, GRID, "--json", "--name", "mine")
    assert json.loads(renamed.stdout)["name"] == "mine"


def test_bad_inputs_are_located_and_nothing_is_sent(submit_cli, tmp_path) -> None:
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("events: {class: File, location: 'lfn:///ctao/x.txt'}\nlabl: x\n")
    result = submit_cli(TOOL, str(inputs), "--submit")
    assert result.code == 2
    assert "inputs.yaml:2:7: labl: 'labl' is not an input of the tool" in result.stderr
    assert "nothing was sent to DIRAC" in result.stderr and result.stdout == ""
    result = submit_cli(str(EXAMPLES / "two_step.cwl"))
    assert result.code == 2 and "no value for the required input 'south-protons' of the workflow" in result.stderr
    result = submit_cli(str(tmp_path / "missing.cwl"))
    assert result.code == 2 and "cannot read the file" in result.stderr


def test_submit_without_dirac_fails_cleanly(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIRAC", "X509"))}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "CTAODIRAC.WorkloadManagementSystem.scripts.dirac_ctao_submit_cwl_job", TOOL, GRID,
         "--submit"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "DIRAC is not usable here" in proc.stderr and "Traceback" not in proc.stderr


def test_the_dry_run_does_not_import_dirac() -> None:
    code = (
        "import sys\n"
        "from CTAODIRAC.WorkloadManagementSystem.scripts.dirac_ctao_submit_cwl_job import main\n"
        "try:\n"
        f"    main([{TOOL!r}, {GRID!r}, '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m == 'DIRAC' or m.startswith('DIRAC.')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_a_workflow_is_submitted_packed_as_one_job(submit_cli, monkeypatch) -> None:
    from pathlib import Path

    from CTAODIRAC.WorkloadManagementSystem.Client import CWLJobSubmission

    workflow = Path(__file__).parent / "data" / "wf" / "count_words.cwl"
    inputs = workflow.with_suffix(".yaml")
    dry = submit_cli(str(workflow), str(inputs))
    assert dry.code == 0, dry.stderr
    assert "(the whole workflow, packed)" in dry.stdout and "Ignored for one job (production hints): dirac:Production" in dry.stdout
    sent = {}

    def fake_submit(settings) -> int:
        packed = Path(settings.input_sandbox[0])
        sent.update(settings=settings, packed=json.loads(packed.read_text()), name=packed.name, path=packed)
        return 42

    monkeypatch.setattr(CWLJobSubmission, "submit_job", fake_submit)
    result = submit_cli(str(workflow), str(inputs), "--submit", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["job_id"] == 42
    assert "note: ignored for one job (production hints): dirac:Production" in result.stderr
    assert sent["name"] == "count_words.cwl" and sent["settings"].config.tool == "count_words.cwl"
    assert str(workflow) not in sent["settings"].input_sandbox and str(inputs) in sent["settings"].input_sandbox
    assert {process["class"] for process in sent["packed"]["$graph"]} == {"Workflow", "CommandLineTool"}
    assert not sent["path"].parent.exists()  # the packing directory is gone once the job is sent


def test_an_internal_error_at_submission_is_one_line_and_leaves_no_packing_directory(submit_cli,
                                                                                     monkeypatch) -> None:
    from pathlib import Path

    from CTAODIRAC.WorkloadManagementSystem.Client import CWLJobSubmission

    seen = []

    def broken_submit(settings) -> int:
        seen.append(Path(settings.input_sandbox[0]).parent)
        raise RuntimeError("sandbox store on fire")

    monkeypatch.setattr(CWLJobSubmission, "submit_job", broken_submit)
    result = submit_cli(TOOL, GRID, "--submit")
    assert result.code == 1
    assert result.stderr.strip().endswith("internal error: RuntimeError: sandbox store on fire"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    (packing,) = seen
    assert packing.name.startswith("ctao-cwl-job-") and not packing.exists()

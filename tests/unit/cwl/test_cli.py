"""``dirac-ctao-submit-production`` on CWL files: dry run, --json, --inputs, --submit without DIRAC."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import BASE_WORKFLOW, EXAMPLES

CAMPAIGN = str(EXAMPLES / "ctapipe_campaign.cwl")


def test_dry_run_of_a_cwl_workflow(run_cli) -> None:
    result = run_cli(CAMPAIGN)
    assert result.code == 0, result.stderr
    assert "5 production(s), 29 step(s)" in result.stdout
    assert "models from: train-energy, train-classifier" in result.stdout


def test_json_of_a_cwl_workflow_has_the_documented_shape(run_cli) -> None:
    result = run_cli(CAMPAIGN, "--json")
    assert result.code == 0 and result.stderr == ""
    for production in json.loads(result.stdout)["productions"]:
        for step in production["steps"]:
            assert set(step) == {"name", "type", "parents", "input_query", "output_query", "group_size", "plugin"}


def test_inputs_file_gives_parameter_values(run_cli, workspace) -> None:
    text = BASE_WORKFLOW.replace("  label: string?\n", "  label: string?\n  cfg: File?\n").replace(
        "in: {input_file: dl0}", "in: {input_file: dl0, config: cfg}")
    workflow = workspace(text)
    inputs = workspace("cfg: {class: File, location: 'lfn:///ctao/config/p.yaml'}\nlabel: x\n", "inputs.yaml")
    result = run_cli(str(workflow), "--inputs", str(inputs), "--json")
    assert result.code == 0, result.stderr
    from CTAODIRAC.Core.CWL import load_cwl_plan

    plan = load_cwl_plan(workflow, inputs=inputs)
    assert plan.step("process").job.config == ["/ctao/config/p.yaml"]
    local = workspace("cfg: {class: File, path: p.yaml}\n", "local.yaml")
    result = run_cli(str(workflow), "--inputs", str(local))
    assert result.code == 2 and "lfn:// location" in result.stderr


def test_inputs_goes_with_cwl_only(run_cli) -> None:
    yaml_file = str(EXAMPLES.parent / "two_step.yaml")
    result = run_cli(yaml_file, "--inputs", "x.yaml")
    assert result.code == 2 and "--inputs goes with a CWL file" in result.stderr


def test_missing_cwl_file(run_cli) -> None:
    result = run_cli("nowhere.cwl")
    assert result.code == 2 and "cannot read the file" in result.stderr


def test_submit_of_a_cwl_workflow_without_dirac_fails_cleanly(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIRAC", "X509"))}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production", CAMPAIGN, "--submit"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "DIRAC is not usable here" in proc.stderr and "Traceback" not in proc.stderr


def test_cwl_dry_run_does_not_import_dirac(dry_run_without_dirac) -> None:
    plan = dry_run_without_dirac(CAMPAIGN, "CTAODIRAC.Core.CWL")
    assert '"productions"' in plan

"""The offline CLI: dry run, --json shape, schema dump, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import EXAMPLES

CAMPAIGN = str(EXAMPLES / "ctapipe_campaign.yaml")


def test_dry_run_prints_the_plan(run_cli) -> None:
    result = run_cli(CAMPAIGN)
    assert result.code == 0, result.stderr
    assert "5 production(s), 29 step(s)" in result.stdout
    assert "nothing sent to DIRAC" in result.stdout
    assert "apply-models-electron-performance" in result.stdout
    assert "models from: train-energy, train-classifier" in result.stdout


def test_json_has_exactly_the_documented_shape(run_cli) -> None:
    result = run_cli(CAMPAIGN, "--json")
    assert result.code == 0 and result.stderr == ""
    data = json.loads(result.stdout)  # nothing else on stdout
    assert set(data) == {"productions"}
    for production in data["productions"]:
        assert set(production) == {"name", "steps"}
        for step in production["steps"]:
            assert set(step) == {"name", "type", "parents", "input_query", "output_query", "group_size", "plugin"}
            assert isinstance(step["group_size"], int) and isinstance(step["parents"], list)
            for cond in list(step["input_query"].values()) + list(step["output_query"].values()):
                assert isinstance(cond, dict) and len(cond) == 1  # operator form, as stored


def test_submit_and_mode_without_a_configured_dirac_fail_cleanly(tmp_path) -> None:
    # in a subprocess: DIRAC's global state must not leak into the unit-test process
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIRAC", "X509"))}
    env["HOME"] = str(tmp_path)  # no ~/.dirac.cfg
    for args in (["--submit"], ["--mode", "wms"], ["--mode", "local"]):
        proc = subprocess.run(
            [sys.executable, "-m", "CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production", CAMPAIGN, *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert "DIRAC is not usable here" in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_submit_and_mode_are_exclusive(run_cli) -> None:
    assert run_cli(CAMPAIGN, "--submit", "--mode", "wms").code == 2


def test_bad_file_with_submit_still_exits_2(run_cli, write_yaml) -> None:
    path = write_yaml("format: 3\nproductions: []\n")
    assert run_cli(str(path), "--submit").code == 2


def test_usage_errors_exit_2(run_cli) -> None:
    assert run_cli().code == 2
    assert run_cli("--no-such-option").code == 2
    assert run_cli(CAMPAIGN, "--mode", "grid").code == 2
    assert run_cli(CAMPAIGN, "--output-json", "ids.json").code == 2
    assert run_cli(CAMPAIGN, "--schema").code == 2


def test_missing_file_exits_2_with_message(run_cli) -> None:
    result = run_cli("does-not-exist.yaml")
    assert result.code == 2
    assert "does-not-exist.yaml" in result.stderr and "cannot read the file" in result.stderr


def test_help_exits_0(run_cli) -> None:
    result = run_cli("--help")
    assert result.code == 0 and "--json" in result.stdout and "--schema" in result.stdout


def test_runs_as_a_module_without_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("productions:\n  - name: p\n    steps: {}\n")
    result = subprocess.run(
        [sys.executable, "-m", "CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"{bad}:3:5: productions[0].steps: expected a list, got a mapping" in result.stderr
    assert "Traceback" not in result.stderr


def test_dry_run_shows_what_a_simulation_step_makes(run_cli, write_yaml) -> None:
    path = write_yaml(
        "format: 1\nproductions:\n  - name: sim\n    steps:\n"
        "      - {name: simulate, kind: mc-simulation, version: v1, jobs: 40, output: {site: LaPalma}}\n"
        "      - {name: count, kind: executable, executable: count, parents: [simulate], outputs: ['*.txt'],"
        " output: {data_level: 0}}\n"
    )
    result = run_cli(str(path))
    assert result.code == 0, result.stderr
    assert "40 jobs, outputs *.simtel.zst" in result.stdout and "outputs *.txt" in result.stdout


def test_an_internal_error_is_one_line_and_exit_1(run_cli, monkeypatch) -> None:
    from CTAODIRAC.ProductionSystem.scripts import dirac_ctao_submit_production as command

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(command, "load_plan", broken)
    result = run_cli(CAMPAIGN)
    assert result.code == 1
    assert result.stderr.strip() == "internal error: RuntimeError: disk on fire"
    assert result.stdout == ""


def test_ctrl_c_says_interrupted_and_exits_130(run_cli, monkeypatch) -> None:
    from CTAODIRAC.ProductionSystem.scripts import dirac_ctao_submit_production as command

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "load_plan", interrupted)
    result = run_cli(CAMPAIGN)
    assert (result.code, result.stderr.strip()) == (130, "interrupted")

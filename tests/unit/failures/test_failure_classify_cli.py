"""dirac-ctao-failure-classify: output, JSON shape, exit codes, the CS seam."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from CTAODIRAC.TransformationSystem.scripts import dirac_ctao_failure_classify as cli

MODULE = "CTAODIRAC.TransformationSystem.scripts.dirac_ctao_failure_classify"
STALLED = ["--status", "Failed", "--minor-status", "Job stalled: pilot not running", "--application-status", ""]


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args))


def test_text_output_names_class_and_rule():
    result = run(*STALLED)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "class: infrastructure",
        "rule:  PilotStalled (Class = infrastructure, MinorStatus = pilot not running, Priority = 100)",
    ]


@pytest.mark.parametrize(
    ("minor", "application", "expected"),
    [
        ("Job stalled: pilot not running", "", {"class": "infrastructure", "rule": "PilotStalled"}),
        (
            "Application Finished With Errors",
            "'cta-prod-setup-software' Exited With Status 1",
            {"class": "software", "rule": "SoftwareSetupStep"},
        ),
        ("Input Data Not Available", "", {"class": "input-data", "rule": "InputDataNotAvailable"}),
        ("Failed sending requests", "", {"class": "output-upload", "rule": "FailedSendingRequests"}),
        (
            "Application Finished With Errors",
            "'ctapipe-process' Exited With Status 2",
            {"class": "application", "rule": "ApplicationErrors"},
        ),
        # "Payload failed" (DIRAC's JobAgent) is infrastructure since the rules follow DIRAC's messages
        ("Payload failed", "", {"class": "infrastructure", "rule": "WrapperException"}),
        ("Something no rule knows", "", {"class": "unknown", "rule": "NoMatch"}),
    ],
)
def test_json_is_exactly_class_and_rule(minor, application, expected):
    result = run("--status", "Failed", "--minor-status", minor, "--application-status", application, "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout) == expected
    assert result.stdout == json.dumps(expected) + "\n"
    assert list(json.loads(result.stdout)) == ["class", "rule"]


def test_no_match_in_text_mode():
    result = run("--status", "Failed", "--minor-status", "Something no rule knows", "--application-status", "")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["class: unknown", "rule:  NoMatch (no rule matched)"]


def test_status_is_case_insensitive_and_site_is_passed(monkeypatch):
    monkeypatch.setattr(
        cli, "get_cs_rules", lambda: {"Rules": {"AtX": {"Class": "software", "Site": "LCG.X.fr", "Status": "Failed"}}}
    )
    at_x = run("--status", "failed", "--minor-status", "", "--application-status", "", "--site", "LCG.X.fr", "--json")
    assert json.loads(at_x.stdout) == {"class": "software", "rule": "AtX"}
    elsewhere = run("--status", "Failed", "--minor-status", "", "--application-status", "", "--json")
    assert json.loads(elsewhere.stdout) == {"class": "unknown", "rule": "NoMatch"}


def test_offline_seam_returns_none():
    assert cli.get_cs_rules() is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--minor-status", "x", "--application-status", "y"], "Missing option '--status'"),
        (["--status", "Failed", "--application-status", "y"], "Missing option '--minor-status'"),
        (["--status", "Failed", "--minor-status", "x"], "Missing option '--application-status'"),
        ([*STALLED, "--colour", "red"], "No such option: --colour"),
        (["--status", "Broken", "--minor-status", "x", "--application-status", "y"], "is not a DIRAC job status"),
        ([*STALLED, "extra"], "unexpected extra argument"),
    ],
)
def test_bad_usage_exits_2_with_a_message(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_cs_rules_exit_2_naming_the_rule(monkeypatch):
    monkeypatch.setattr(cli, "get_cs_rules", lambda: {"Rules": {"Oops": {"Class": "weird", "MinorStatus": "x"}}})
    result = run(*STALLED, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Rules/Oops: Class 'weird' is not one of" in result.stderr


def test_main_exits_with_the_command_code(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([*STALLED, "--json"])
    assert info.value.code == 0
    assert json.loads(capsys.readouterr().out) == {"class": "infrastructure", "rule": "PilotStalled"}
    with pytest.raises(SystemExit) as info:
        cli.main(["--status", "Failed"])
    assert info.value.code == 2


def test_help_exits_0():
    result = run("--help")
    assert result.exit_code == 0
    assert "dirac-ctao-failure-classify" in result.stdout
    assert "--application-status" in result.stdout


def _subprocess(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"from {MODULE} import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    assert not [m for m in sys.modules if m == 'DIRAC' or m.startswith('DIRAC.')], 'DIRAC imported'\n"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, check=False)


def test_runs_offline_without_importing_dirac():
    proc = _subprocess(*STALLED, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == '{"class": "infrastructure", "rule": "PilotStalled"}\n'
    assert proc.stderr == ""


def test_bad_usage_in_a_real_process_has_no_traceback():
    proc = _subprocess("--status", "Failed", "--minor-status")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "--minor-status" in proc.stderr

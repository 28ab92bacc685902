"""The core stays pure, agrees with DIRAC's own constants and state machine, and its docs are complete."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import CTAODIRAC.Core.Failures as failures
from CTAODIRAC.Core.Failures import DEFAULT_RULES, FailureAgentOptions, FailureClass, JobFacts, classify
from CTAODIRAC.Core.Failures.statuses import (
    FILE_DONE_STATUSES,
    FILE_PENDING_STATUSES,
    JOB_FINAL_STATUSES,
    RESCHEDULING_MINOR_STATUSES,
    FileStatus,
    JobStatus,
    predict_file_status,
)

CORE = Path(failures.__file__).parent
REPO = CORE.parents[3]


def test_core_does_not_import_dirac():
    modules = sorted(f"CTAODIRAC.Core.Failures.{path.stem}" for path in CORE.glob("*.py") if path.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('DIRAC', 'DIRACCommon', 'diraccfg')]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_core_has_no_print_and_no_dirac_in_its_source():
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"print in {path.name}:{node.lineno}"
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("DIRAC"), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("DIRAC") for alias in node.names), path.name


# ------------------------------------------------------------------------------------ parity with DIRAC


def test_file_statuses_match_dirac():
    tfs = pytest.importorskip("DIRAC.TransformationSystem.Client.TransformationFilesStatus")
    ours = {value for name, value in vars(FileStatus).items() if name.isupper()}
    assert set(tfs.TRANSFORMATION_FILES_STATES) <= ours
    assert set(tfs.TRANSFORMATION_FILES_STATES) <= FILE_DONE_STATUSES | FILE_PENDING_STATUSES


def test_job_statuses_match_dirac():
    js = pytest.importorskip("DIRACCommon.WorkloadManagementSystem.Client.JobStatus")
    ours = {value for name, value in vars(JobStatus).items() if name.isupper()}
    assert ours == set(js.JOB_STATES)
    assert set(js.JOB_FINAL_STATES) == JOB_FINAL_STATUSES


def test_rescheduling_minor_statuses_match_dirac():
    ms = pytest.importorskip("DIRAC.WorkloadManagementSystem.Client.JobMinorStatus")
    assert {ms.GOING_RESCHEDULE, ms.RESCHEDULED} == RESCHEDULING_MINOR_STATUSES


@pytest.mark.parametrize(
    ("constant", "expected"),
    [
        ("STALLED_PILOT_NOT_RUNNING", FailureClass.INFRASTRUCTURE),
        ("WATCHDOG_STALLED", FailureClass.INFRASTRUCTURE),
        ("JOB_EXCEEDED_CPU", FailureClass.INFRASTRUCTURE),
        ("JOB_EXCEEDED_WALL_CLOCK", FailureClass.INFRASTRUCTURE),
        ("JOB_INSUFFICIENT_DISK", FailureClass.INFRASTRUCTURE),
        ("RECEIVED_KILL_SIGNAL", FailureClass.INFRASTRUCTURE),
        ("INPUT_DATA_RESOLUTION", FailureClass.INPUT_DATA),
        ("INPUT_NOT_AVAILABLE", FailureClass.INPUT_DATA),
        ("FAILED_DOWNLOADING_INPUT_SANDBOX", FailureClass.INPUT_DATA),
        ("FAILED_DOWNLOADING_INPUT_SANDBOX_LFN", FailureClass.INPUT_DATA),
        ("UPLOADING_OUTPUT_DATA", FailureClass.OUTPUT_UPLOAD),
        ("UPLOADING_JOB_OUTPUTS", FailureClass.OUTPUT_UPLOAD),
        ("FAILED_SENDING_REQUESTS", FailureClass.OUTPUT_UPLOAD),
        ("APP_ERRORS", FailureClass.APPLICATION),
        # a missing executable is a missing software set-up, not an application crash (issue 11); every
        # constant is checked in test_dirac_failure_messages.py
        ("APP_NOT_FOUND", FailureClass.SOFTWARE),
    ],
)
def test_dirac_minor_status_constants_are_classified(constant, expected):
    ms = pytest.importorskip("DIRAC.WorkloadManagementSystem.Client.JobMinorStatus")
    job = JobFacts(job_id=1, status="Failed", minor_status=getattr(ms, constant))
    assert classify(job)[0] is expected


def test_predicted_file_status_matches_dirac_client_state_machine():
    module = pytest.importorskip("DIRAC.TransformationSystem.Client.TransformationClient")
    dirac_rule = module.TransformationClient._applyTransformationFilesStateMachine
    statuses = [
        FileStatus.UNUSED,
        FileStatus.ASSIGNED,
        FileStatus.PROCESSED,
        FileStatus.PROBLEMATIC,
        FileStatus.MAX_RESET,
    ]
    for counter in (3, 10):
        fake_client = SimpleNamespace(maxResetCounter=counter)
        for current, proposed, errors in itertools.product(statuses, statuses, range(0, 12)):
            theirs = dirac_rule(fake_client, {"/f": [current, errors, 1]}, {"/f": proposed}, False)
            ours = predict_file_status(current, proposed, errors, counter)
            assert theirs.get("/f", current) == ours, (current, proposed, errors, counter)


# ------------------------------------------------------------------------------------------------- docs


def test_operator_doc_lists_every_rule_and_option():
    doc = (REPO / "docs" / "failure-management.md").read_text()
    for name in DEFAULT_RULES:
        assert f"`{name}`" in doc, name
    for option in FailureAgentOptions.cs_names():
        assert f"`{option}`" in doc, option
    for cls in FailureClass:
        assert f"`{cls.value}`" in doc, cls

"""The CWL twin of the example campaign end to end: ``dirac-ctao-local campaign --cwl`` submits
``examples/cwl/ctapipe_campaign.cwl`` in the reduced size of the YAML campaign (the same 29 transformations in 5
productions, the same plan) and DIRAC's agents, ours and two local JobAgent pilots run it from toy DL0 to DL2;
every job runs its step's CommandLineTool (``examples/cwl/tools/``) with cwltool, real ctapipe inside. The DL2
files are read back with ctapipe.

To keep CI time down it runs on the session's local DIRAC (no instance of its own, no faults: the chaos campaign
test covers the failure side of the same job-side command), with 100 showers per toy run (the YAML test: 200):
its time goes to each job's DIRAC processes and cwltool more than to the payloads, and 100 showers still train
both models and leave events in every DL2 file (checked below)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import control
from test_campaign import (  # the same read-back of DL2 files with ctapipe, the same run of the campaign
    CTAPIPE_PYTHON,
    assert_dl2_read_back,
    run_campaign,
)

pytestmark = pytest.mark.integration


@pytest.mark.skipif(not CTAPIPE_PYTHON.exists(), reason="no .venv-ctapipe (make install makes it with a Python 3.12)")
def test_the_cwl_twin_of_the_example_campaign_runs_to_dl2(dirac):
    local = str(control.venv_bin() / "dirac-ctao-local")
    run = run_campaign([local, "campaign", "--cwl", "--json", "--root", str(dirac.inst.root), "--showers", "100",
                        "--timeout", "2400"], timeout=2700)  # fmt: skip
    out = run.stdout
    assert "transformations done" in out, out[-4000:] + run.stderr[-3000:]
    summary = json.loads(out[out.rindex("\n{\n") + 1:])
    assert run.returncode == 0 and summary["complete"] is True, out[-6000:] + run.stderr[-3000:]
    assert len(summary["files_processed_per_step"]) == 29
    assert all(count >= 1 for count in summary["files_processed_per_step"].values()), summary
    assert len(summary["models"]) == 2
    assert sorted(Path(lfn).name for lfn in summary["models"]) == ["energy_regressor.pkl", "particle_classifier.pkl"]
    assert len(summary["dl2_outputs"]) == 4
    # the names the CWL tools give (the YAML steps' built-in commands name them <input>.apply-models.h5)
    assert all(lfn.endswith(".applied.h5") for lfn in summary["dl2_outputs"]), summary["dl2_outputs"]
    assert_dl2_read_back([str(dirac.inst.storage / lfn.lstrip("/")) for lfn in summary["dl2_outputs"]])

"""``dirac-ctao-campaign-report`` against the local DIRAC, on a production that ran: the one-step merge production
of test_job_side (a stand-in merge program, one job run by a JobAgent). The report reads DIRAC's productions,
transformations, tasks, jobs' logging records and the failure agent's decisions; its tables, JSON and pictures must
say what DIRAC holds. (The example campaign's report, DL2 plots included, is checked by test_campaign.py.)"""

from __future__ import annotations

import json
import re

import pytest

from test_job_side import FAKE_MERGE, _run_merge_task

pytestmark = pytest.mark.integration


def _sound_png(path) -> None:
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100, image.shape
    assert image[..., :3].std() > 0.02, f"{path} looks blank"


def test_the_report_of_a_production_that_ran(dirac, tmp_path, unique):
    result = _run_merge_task(dirac, tmp_path, unique, FAKE_MERGE, {"nsb": 5}, {"nsb": 5})
    production = f"jobside-{unique}"
    out = tmp_path / "report"
    run = dirac.run(["dirac-ctao-campaign-report", production, "--output", str(out), "--json"], timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    found = json.loads(run.stdout)
    data = found["data"]
    (prod,) = data["productions"]
    assert prod["name"] == production and prod["transformations"] == [result["tid"]]
    (trans,) = data["transformations"]
    assert trans["id"] == result["tid"] and trans["kind"] == "ctapipe-merge"
    assert trans["files"] == {"Processed": 2} and trans["failed_jobs"] == 0
    (job,) = data["jobs"]
    assert job["job"] == result["job_id"] and job["status"] == "Done" and job["task"] == result["task_id"]
    # every phase of the job, in order, from DIRAC's logging records
    phases = [job[k] for k in ("created", "received", "matched", "payload_start", "payload_end", "upload_end",
                               "finished")]  # fmt: skip
    assert None not in phases and phases == sorted(phases), job
    assert found["dl2"] is None
    # the report on disk: the timeline and the graph, shown by the page
    assert "report: " in run.stderr and str(out / "index.html") in run.stderr
    pictures = sorted(p.name for p in out.glob("*.png"))
    assert pictures == ["graph.png", "timeline.png"]
    for name in pictures:
        _sound_png(out / name)
    page = (out / "index.html").read_text()
    assert set(re.findall(r'<img src="([^"]+)"', page)) == set(pictures)
    assert production in page and json.loads((out / "report.json").read_text())["data"] == data

    # the tables, without --json; a DL2 file that is neither here nor in the catalog fails the command (exit 1)
    tables = dirac.run(["dirac-ctao-campaign-report", str(prod["id"]), "--output", str(tmp_path / "again")])
    assert tables.returncode == 0, tables.stderr[-3000:]
    assert "transformations" in tables.stdout and "merge" in tables.stdout and "task hold" in tables.stdout
    missing = dirac.run(["dirac-ctao-campaign-report", production, "--output", str(tmp_path / "dl2"),
                         "--dl2", "/ctao/tests/no/such.dl2.h5", "--ctapipe-python", "python3"])  # fmt: skip
    assert missing.returncode == 1 and "no/such.dl2.h5" in missing.stderr, missing.stderr[-3000:]

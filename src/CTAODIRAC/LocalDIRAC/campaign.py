"""Run the example ctapipe campaign end to end on the local DIRAC, from toy DL0 to DL2.

Started by ``dirac-ctao-local campaign`` in the instance's environment (this module imports DIRAC). What it
does by itself: write toy DL0 input descriptions (CTAODIRAC.ToyEvents) and the ctapipe configuration files,
register them in the catalog, and submit ``examples/ctapipe_campaign.yaml`` in a reduced size (a campaign
name of its own, one file per group). Everything after that is done by DIRAC's agents and ours, left
running as a data centre runs them (polling every 10-20 s): InputDataAgent, TransformationAgent,
WorkflowTaskAgent, the FailureManagementAgent (acting: it retries jobs that failed, e.g. an apply-models job
that ran before its model existed), and JobAgents with the worker-node configuration executing the jobs here
("pilots", started again when they stop). Nothing is registered or changed by hand after the submission.
Progress is printed when it changes; a JSON summary at the end says where the time went (:func:`job_times`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

SAMPLES = (
    ("gamma-diffuse", "energy-training"), ("gamma-diffuse", "classifier-training"), ("gamma-diffuse", "performance"),
    ("proton", "classifier-training"), ("proton", "performance"), ("gamma", "performance"),
    ("electron", "performance"),
)  # fmt: skip
CONFIGS = {  # LFN -> ctapipe resource file (the campaign file names these LFNs)
    "/ctao/config/ctapipe/prod6_process.yaml": None,
    "/ctao/config/ctapipe/train_energy_regressor.yaml": "train_energy_regressor.yaml",
    "/ctao/config/ctapipe/train_particle_classifier.yaml": "train_particle_classifier.yaml",
}
SE = "CTAO-Local-SE"


def reduced_campaign(text: str, campaign: str) -> str:
    """The example campaign under its own campaign name, one input file per task (two for the classifier,
    which trains on a gamma and a proton file)."""
    text = text.replace("MCCampaign: Prod6", f"MCCampaign: {campaign}")
    text = re.sub(r"(?m)^(  - name: )([\w.-]+)$", rf"\g<1>\g<2>-{campaign.lower()}", text)
    text = re.sub(r"(?m)^(\s+group_size: )\d+.*$", r"\g<1>1", text)
    text = re.sub(r"(?m)^\s+processors: \d+\n", "", text)  # the local computing element has one slot
    classifier = "        kind: ctapipe-train-classifier\n"
    return text.replace(classifier, classifier + "        group_size: 2\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--showers", type=int, default=300, help="showers thrown per toy run")
    parser.add_argument("--timeout", type=int, default=3600, help="give up after this many seconds")
    parser.add_argument("--ctapipe-env", required=True, help="the ctapipe payload environment (Python 3.12)")
    parser.add_argument("--root", required=True, help="the local DIRAC instance directory")
    parser.add_argument("--pilots", type=int, default=2, help="JobAgents running jobs side by side")
    args, _ = parser.parse_known_args()

    import DIRAC

    DIRAC.initialize()
    from DIRAC.DataManagementSystem.Client.DataManager import DataManager
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
    from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    from CTAODIRAC.Core.JobSide import Software
    from CTAODIRAC.Core.Production.loader import load_plan
    from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata
    from CTAODIRAC.LocalDIRAC import control
    from CTAODIRAC.LocalDIRAC.instance import Instance
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
    from CTAODIRAC.ToyEvents.description import default_description

    t0 = time.monotonic()
    inst = Instance(args.root)
    campaign = f"Toy{uuid.uuid4().hex[:6]}"
    repo = Path(__file__).resolve().parents[3]
    plan = load_plan(text=reduced_campaign((repo / "examples" / "ctapipe_campaign.yaml").read_text(), campaign),
                     filename="examples/ctapipe_campaign.yaml")
    query = {k: next(iter(v.values())) for k, v in plan.step("process-gamma-performance").input_query.items()}
    for key in ("particle", "split"):
        query.pop(key)
    fc, dm, meta = FileCatalogClient(), DataManager(), CatalogMetadata()
    print(f"campaign {campaign}: {len(plan.steps)} transformations in {len(plan.productions)} productions", flush=True)

    # 1. the starting data: toy DL0 runs and the ctapipe configuration files
    work = Path(tempfile.mkdtemp(prefix="campaign-"))
    meta.ensure_fields(directory={"particle": "str"}, file={"split": "str", "run_number": "int"})
    resources = Path(args.ctapipe_env).glob("lib/python3*/site-packages/ctapipe/resources")
    resources = next(iter(resources))
    for lfn, resource in CONFIGS.items():
        local = work / Path(lfn).name
        local.write_text((resources / resource).read_text() if resource else "{}\n")
        if not fc.isFile(lfn)["Value"]["Successful"].get(lfn):
            assert dm.putAndRegister(lfn, str(local), SE)["OK"], lfn
    base = f"/ctao/toy/{campaign}/dl0"
    for run, (particle, split) in enumerate(SAMPLES, start=1):
        desc = default_description(particle, split, run_number=run, n_showers=args.showers, seed=run)
        name = f"{particle}_{split}_run{run:06d}.toydl0.json"
        (work / name).write_text(desc.model_dump_json(indent=1))
        directory = f"{base}/{particle}"
        fc.createDirectory(directory)
        fc.setMetadata(directory, {**query, "particle": particle})
        lfn = f"{directory}/{name}"
        assert dm.putAndRegister(lfn, str(work / name), SE)["OK"], lfn
        assert fc.setMetadata(lfn, {"split": split, "run_number": run})["OK"]
    print(f"registered {len(SAMPLES)} toy DL0 runs of {args.showers} showers under {base}", flush=True)

    # 2. the campaign
    submitted = ProductionSubmitter(f"/ctao/toy/{campaign}/out", output_se=SE,
                                    software=Software(kind="venv", location=args.ctapipe_env)).submit(plan)
    tids = {s.name: s.transformation_id for p in submitted for s in p.steps}
    submitted_at = time.monotonic()
    print(f"submitted {len(tids)} transformations in {len(submitted)} productions", flush=True)

    # 3. the agents and the pilots, left to run as on a data centre, until every transformation is done
    tc = TransformationClient()
    types = ",".join(sorted({s.type for s in plan.steps}))
    agents = [
        control.start_agent(inst, name, polling, options)
        for name, polling, options in (
            ("Transformation/InputDataAgent", 10, [f"TransformationTypes={types}"]),
            # NoUnusedDelay: DIRAC skips a transformation that had no Unused files for 6 hours by default
            ("Transformation/TransformationAgent", 10, [f"TransformationTypes={types}", "NoUnusedDelay=0"]),
            ("Transformation/WorkflowTaskAgent", 10,
             [f"TransType={types}", "shifterProxy=ProductionManager", "MonitorTasks=", "MonitorFiles="]),
            ("Transformation/FailureManagementAgent", 20,
             ["ReportOnly=False", "MinJobAge=0", f"TransformationTypes={types}"]),
        )
    ]  # fmt: skip
    pilots = Pilots(inst, args.pilots)
    states: dict[int, dict[str, int]] = {}
    try:
        shown = ""
        while time.monotonic() - t0 < args.timeout:
            pilots.keep_running()
            res = tc.getTransformationFiles({"TransformationID": list(tids.values())})
            if not res["OK"]:
                time.sleep(5)
                continue
            states = file_states(res["Value"])
            finished = sum(1 for tid in tids.values() if transformation_done(states.get(tid, {})))
            jobs = tc.getCounters("TransformationTasks", ["ExternalStatus"],
                                  {"TransformationID": list(tids.values())}).get("Value", [])
            line = (f"{finished}/{len(tids)} transformations done; files "
                    + ", ".join(f"{n} {st}" for st, n in sorted(total_states(states).items()))
                    + f"; {sum(n for _, n in jobs)} tasks")  # fmt: skip
            if line != shown:
                print(f"[{time.monotonic() - t0:5.0f} s] {line}", flush=True)
                shown = line
            if finished == len(tids):
                break
            time.sleep(10)
    finally:
        pilots.stop()
        for agent in agents:
            control.stop_agent(agent)
    elapsed = time.monotonic() - t0

    # 4. the summary, and where the time went
    # the campaign's DL2: both models applied to the performance samples (the classifier-training samples with
    # the energy applied are DL2 too, but intermediate)
    dl2 = meta.find_files({"MCCampaign": campaign, "data_level": 2, "outputType": "Data",
                           "analysis_prog": "ctapipe-apply-models", "split": "performance"})
    models = meta.find_files({"MCCampaign": campaign, "outputType": "Model"})
    done = {step: states.get(tid, {}).get("Processed", 0) for step, tid in tids.items()}
    complete = all(transformation_done(states.get(tid, {})) for tid in tids.values())
    timing = time_split(_task_records(tc, JobMonitoringClient(), list(tids.values())))
    summary = {"campaign": campaign, "complete": complete, "seconds": round(elapsed),
               "submission_seconds": round(submitted_at - t0), "pilots": args.pilots, "timing": timing,
               "files_processed_per_step": done, "models": models, "dl2_outputs": dl2}
    print(json.dumps(summary, indent=1), flush=True)
    return 0 if complete and len(dl2) >= 4 else 1


class Pilots:
    """``count`` JobAgents, each from its own pilot directory with the worker-node configuration
    (``control.start_pilot``), started again whenever it stops (after a few cycles without a job)."""

    def __init__(self, inst: Any, count: int) -> None:
        self.inst = inst
        self.procs: list[Any] = [None] * count

    def keep_running(self) -> None:
        from CTAODIRAC.LocalDIRAC import control

        for i, proc in enumerate(self.procs):
            if proc is None or proc.poll() is not None:
                self.procs[i] = control.start_pilot(self.inst, i + 1)

    def stop(self) -> None:
        from CTAODIRAC.LocalDIRAC import control

        for proc in self.procs:
            if proc is not None:
                control.stop_agent(proc)


def file_states(files: list[dict[str, Any]]) -> dict[int, dict[str, int]]:
    """``{transformation: {file status: count}}``."""
    states: dict[int, dict[str, int]] = {}
    for f in files:
        by_status = states.setdefault(int(f["TransformationID"]), {})
        by_status[f["Status"]] = by_status.get(f["Status"], 0) + 1
    return states


def transformation_done(states: dict[str, int]) -> bool:
    """Every file of the transformation Processed (and it has some)."""
    return bool(states) and set(states) == {"Processed"}


def total_states(states: dict[int, dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for by_status in states.values():
        for status, count in by_status.items():
            total[status] = total.get(status, 0) + count
    return total


def _task_records(tc: Any, monitoring: Any, tids: list[int]) -> list[tuple[datetime, list[tuple]]]:
    """For each task with a job: (task creation time, the job's logging records)."""
    res = tc.getTransformationTasks({"TransformationID": tids})
    records = []
    for task in res.get("Value", []):
        job = int(task["ExternalID"] or 0)
        if job <= 0:
            continue
        logging = monitoring.getJobLoggingInfo(job)
        if logging["OK"]:
            records.append((task["CreationTime"], logging["Value"]))
    return records


def _when(text: str) -> datetime:
    return datetime.fromisoformat(str(text))


def job_times(created: datetime, records: list[tuple]) -> dict[str, float | None]:
    """Where one job's time went, from its task's creation time and DIRAC's logging records
    ``(status, minor status, application status, time, source)``, in seconds:

    - ``to_job``: task created → job received (DIRAC's 30 s hold before a task is handed out, WorkflowTaskAgent
      polling);
    - ``queued``: received → matched (optimizers, waiting for a free JobAgent);
    - ``payload``: the program's run (dirac-ctao-run-step's "Running <program>" to its next status);
    - ``upload``: after the payload, dirac-ctao-run-step's uploads, registrations and file statuses (to its last
      status);
    - ``wrapper``: the rest of the job's run (DIRAC's job wrapper: sandbox, input download, finalisation);
      the whole run when the payload never started.
    """
    times = [(_when(r[3]), r[0], r[1], r[2], r[4]) for r in records]
    received = times[0][0] if times else None
    matched = next((t for t, status, *_ in times if status == "Matched"), None)
    finished = next((t for t, status, *_ in reversed(times) if status in ("Done", "Failed", "Completed")), None)
    start = next((i for i, (_, _, _, app, source) in enumerate(times)
                  if app.startswith("Running ") and "dirac-ctao-run-step" in source), None)  # fmt: skip

    def span(a: datetime | None, b: datetime | None) -> float | None:
        return (b - a).total_seconds() if a and b else None

    payload = upload = None
    if start is not None and start + 1 < len(times):
        payload = span(times[start][0], times[start + 1][0])
        last = max(i for i, row in enumerate(times) if "dirac-ctao-run-step" in row[4])
        upload = span(times[start + 1][0], times[max(last, start + 1)][0])
    run = span(matched, finished)
    return {
        "to_job": span(created, received),
        "queued": span(received, matched),
        "payload": payload,
        "upload": upload,
        "wrapper": run - (payload or 0) - (upload or 0) if run is not None else None,
    }


def time_split(records: list[tuple[datetime, list[tuple]]]) -> dict[str, Any]:
    """Sums and medians of :func:`job_times` over the campaign's jobs."""
    per_job = [job_times(created, recs) for created, recs in records]
    split: dict[str, Any] = {"jobs": len(per_job)}
    for key in ("to_job", "queued", "wrapper", "payload", "upload"):
        values = sorted(v[key] for v in per_job if v[key] is not None)
        split[key] = {"sum_s": round(sum(values)), "median_s": round(values[len(values) // 2], 1) if values else None}
    return split


if __name__ == "__main__":
    sys.exit(main())

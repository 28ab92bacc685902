"""Run the example ctapipe campaign end to end on the local DIRAC, from toy DL0 to DL2.

Started by ``dirac-ctao-local campaign`` in the instance's environment (this module imports DIRAC). What it
does by itself: write toy DL0 input descriptions (CTAODIRAC.ToyEvents) and the ctapipe configuration files,
register them in the catalog, and submit ``examples/ctapipe_campaign.yaml`` in a reduced size (a campaign
name of its own, one file per group). Everything after that is done by DIRAC's agents and ours, left
running as a data centre runs them (polling every 10-20 s): InputDataAgent, TransformationAgent,
WorkflowTaskAgent, the FailureManagementAgent (acting: it retries jobs that failed, e.g. an apply-models job
that ran before its model existed), and JobAgents with the worker-node configuration executing the jobs here
("pilots", started again when they stop). Nothing is registered or changed by hand after the submission.
Progress is printed when it changes. It ends with tables (per production and transformation, the models and DL2
files, where the jobs' time went), the JSON summary written to ``<root>/reports/<campaign>/summary.json`` (and
printed with ``--json``), and a report with pictures next to it (``index.html``; docs/campaign-report.md), made
from what DIRAC holds as ``dirac-ctao-campaign-report`` makes it.

With ``--chaos`` (docs/chaos.md) the same campaign runs while :mod:`CTAODIRAC.LocalDIRAC.chaos` injects faults: the
DL0 files get a second copy at the second site, whose pilot fails every job; one more DL0 run is registered whose
stored copies are lost for good; the submission is killed once and run again; the agents (DIRAC's
StalledJobAgent and RequestExecutingAgent too) are kept running by a supervisor that restarts them after each
kill. The run ends when every transformation and production is Completed (by the failure agent), and is then
checked: every input processed or given up once, no orphan or duplicate output, the storage elements and the
catalog agreeing.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from CTAODIRAC.Core.Report.page import write_report
from CTAODIRAC.Core.Report.tables import summary_split
from CTAODIRAC.LocalDIRAC.csconfig import FAILOVER_SE_NAME
from CTAODIRAC.LocalDIRAC.instance import SPARE_SE_NAME, SPARE_SITE

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


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (a killed test, ``timeout``, an operator's ``kill``) ends the run as an exception would: its ``finally``
    blocks and ``atexit`` handlers stop the agents and pilots it started, and with them their jobs."""
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--showers", type=int, default=300, help="showers thrown per toy run")
    parser.add_argument("--timeout", type=int, default=3600, help="give up after this many seconds")
    parser.add_argument("--ctapipe-env", required=True, help="the ctapipe payload environment (Python 3.12)")
    parser.add_argument("--root", required=True, help="the local DIRAC instance directory")
    parser.add_argument("--pilots", type=int, default=2, help="JobAgents running jobs side by side")
    parser.add_argument("--chaos", action="store_true", help="inject faults while the campaign runs")
    parser.add_argument("--seed", type=int, default=1, help="seed of the chaos plan")
    parser.add_argument("--short", action="store_true", help="fewer faults (the chaos integration test)")
    parser.add_argument("--cwl", action="store_true", help="the CWL twin (examples/cwl/ctapipe_campaign.cwl)")
    parser.add_argument("--json", action="store_true", help="also print the JSON summary on stdout")
    parser.add_argument("--submit-only", nargs=2, metavar=("PLAN", "OUT"), help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()

    import DIRAC

    DIRAC.initialize()
    if args.submit_only:  # the chaos run's submission, in a process of its own (killed once on purpose)
        plan_file, out = (Path(a) for a in args.submit_only)
        campaign = plan_file.stem
        submitted = submitter(campaign, args.ctapipe_env, chaos=True).submit(
            load_campaign_plan(plan_file.read_text()))
        out.write_text(json.dumps({s.name: s.transformation_id for p in submitted for s in p.steps}))
        return 0

    from DIRAC.DataManagementSystem.Client.DataManager import DataManager
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
    from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata
    from CTAODIRAC.LocalDIRAC import chaos as chaos_mod
    from CTAODIRAC.LocalDIRAC.instance import Instance, checkout
    from CTAODIRAC.ToyEvents.description import default_description

    t0 = time.monotonic()
    inst = Instance(args.root)
    campaign = f"Toy{uuid.uuid4().hex[:6]}"
    repo = checkout() or Path.cwd()
    if args.cwl:  # the same campaign described in CWL: its jobs run the workflow's tools with cwltool
        from CTAODIRAC.LocalDIRAC.cwl_campaign import reduced_cwl_plan

        if args.chaos:
            parser.error("--cwl runs without --chaos")
        plan_text, plan = "", reduced_cwl_plan(repo, campaign)
    else:
        plan_text = reduced_campaign((repo / "examples" / "ctapipe_campaign.yaml").read_text(), campaign)
        plan = load_campaign_plan(plan_text)
    query = {k: next(iter(v.values())) for k, v in plan.step("process-gamma-performance").input_query.items()}
    for key in ("particle", "split"):
        query.pop(key)
    fc, dm, meta = FileCatalogClient(), DataManager(), CatalogMetadata()
    print(f"campaign {campaign}: {len(plan.steps)} transformations in {len(plan.productions)} productions", flush=True)
    work = Path(tempfile.mkdtemp(prefix="campaign-"))
    settings = (chaos_mod.ChaosSettings.short if args.short else chaos_mod.ChaosSettings)(seed=args.seed)
    chaos_dir = inst.root / "chaos" / campaign
    if args.chaos:
        chaos_dir.mkdir(parents=True, exist_ok=True)
        print(f"chaos: seed {args.seed}, faults logged to {chaos_dir / 'faults.jsonl'}", flush=True)

    # The agents and the pilots run from the start, as on a data centre, where they are always running: they are
    # up (each a Python process importing DIRAC) by the time the submission ends, and pick it up at their next
    # cycle. A chaos run starts them after its submission (killed once on purpose, then run again).
    types = ",".join(sorted({s.type for s in plan.steps}))
    supervisor: Any = None
    pilots: Any = None
    if not args.chaos:
        supervisor = chaos_mod.Supervisor(inst, agent_specs(types))
        pilots = chaos_mod.Pilots(inst, args.pilots)
        pilots.keep_running()
        for stop in (pilots.stop, supervisor.stop):  # also when the registration or the submission fails
            atexit.register(stop)

    # 1. the starting data: toy DL0 runs and the ctapipe configuration files
    meta.ensure_fields(directory={"particle": "str"}, file={"split": "str", "run_number": "int"})
    resources = Path(args.ctapipe_env).glob("lib/python3*/site-packages/ctapipe/resources")
    resources = next(iter(resources))
    for lfn, resource in CONFIGS.items():
        local = work / Path(lfn).name
        local.write_text((resources / resource).read_text() if resource else "{}\n")
        if not fc.isFile(lfn)["Value"]["Successful"].get(lfn):
            assert dm.putAndRegister(lfn, str(local), SE)["OK"], lfn
    base = f"/ctao/toy/{campaign}/dl0"
    samples = list(SAMPLES) + ([LOST_SAMPLE] if args.chaos and settings.permanent_loss else [])
    dl0 = []
    for run, (particle, split) in enumerate(samples, start=1):
        desc = default_description(particle, split, run_number=run, n_showers=args.showers, seed=run)
        name = f"{particle}_{split}_run{run:06d}.toydl0.json"
        (work / name).write_text(desc.model_dump_json(indent=1))
        directory = f"{base}/{particle}"
        fc.createDirectory(directory)
        fc.setMetadata(directory, {**query, "particle": particle})
        lfn = f"{directory}/{name}"
        assert dm.putAndRegister(lfn, str(work / name), SE)["OK"], lfn
        assert fc.setMetadata(lfn, {"split": split, "run_number": run})["OK"]
        dl0.append(lfn)
    print(f"registered {len(samples)} toy DL0 runs of {args.showers} showers under {base}", flush=True)
    stores = {SE: inst.storage, SPARE_SE: inst.root / "storage-spare", FAILOVER_SE: inst.root / "storage-failover"}
    lost_for_good: set[str] = set()
    if args.chaos:
        # a copy of each DL0 run at the second site (whose pilot is bad): first-level jobs may go there
        for lfn in dl0:
            assert dm.replicateAndRegister(lfn, SPARE_SE, SE)["OK"], lfn
        if settings.permanent_loss:  # its stored copies vanish for good: to be given up
            lost = dl0[-1]
            for directory in stores.values():
                (directory / lost.lstrip("/")).unlink(missing_ok=True)
            lost_for_good.add(lost)
            print(f"chaos: the stored copies of {lost} are lost for good", flush=True)

    # 2. the campaign
    if args.chaos:
        submitted_ids = submit_with_a_kill(args, campaign, settings, chaos_dir, plan_text)
    else:
        submitted = submitter(campaign, args.ctapipe_env).submit(plan)
        submitted_ids = {s.name: s.transformation_id for p in submitted for s in p.steps}
    tids = submitted_ids
    submitted_at = time.monotonic()
    print(f"submitted {len(tids)} transformations in {len(plan.productions)} productions", flush=True)

    # 3. the agents and the pilots, left to run as on a data centre, until every transformation is done
    tc = TransformationClient()
    injector = None
    if args.chaos:
        specs = agent_specs(types, chaos=True, stalled=opensearch_running(inst))
        supervisor = chaos_mod.Supervisor(inst, specs)
        pilots = chaos_mod.Pilots(inst, args.pilots, bad_site=BAD_SITE if settings.bad_site else None)
        plan_faults = chaos_mod.plan_faults(settings, [s.name for s in specs],
                                            kill_pilot=any(s.name.endswith("StalledJobAgent") for s in specs))
        injector = chaos_mod.Injector(inst, settings, plan_faults, chaos_dir / "faults.jsonl", supervisor, pilots,
                                      Path(args.ctapipe_env), list(tids.values()), SE, stores,
                                      lost_for_good)
        injector.record("plan", faults=[f.__dict__ for f in plan_faults])
    states: dict[int, dict[str, int]] = {}
    finished_all = False
    try:
        shown = ""
        run_start = time.monotonic()
        while time.monotonic() - t0 < args.timeout:
            supervisor.keep_running()
            pilots.keep_running()
            if injector is not None:
                injector.tick(time.monotonic() - run_start)
            res = tc.getTransformationFiles({"TransformationID": list(tids.values())})
            rows = tc.getTransformations({"TransformationID": list(tids.values())})
            if not res["OK"] or not rows["OK"]:
                time.sleep(5)
                continue
            states = file_states(res["Value"])
            statuses = {int(r["TransformationID"]): r["Status"] for r in rows["Value"]}
            completed = sum(1 for st in statuses.values() if st == "Completed")
            finished = sum(1 for tid in tids.values() if transformation_done(states.get(tid, {})))
            jobs = tc.getCounters("TransformationTasks", ["ExternalStatus"],
                                  {"TransformationID": list(tids.values())}).get("Value", [])
            line = (f"{finished}/{len(tids)} transformations done, {completed} Completed; files "
                    + ", ".join(f"{n} {st}" for st, n in sorted(total_states(states).items()))
                    + f"; {sum(n for _, n in jobs)} tasks")  # fmt: skip
            if line != shown:
                print(f"[{time.monotonic() - t0:5.0f} s] {line}", flush=True)
                shown = line
            if args.chaos:
                if completed == len(tids) and productions_completed(plan):
                    finished_all = True
                    break
            elif finished == len(tids):
                finished_all = True
                break
            time.sleep(5 if args.chaos else 3)  # three calls to the TransformationManager
    finally:
        if injector is not None:
            injector.finish()
        pilots.stop()
        supervisor.stop()
    elapsed = time.monotonic() - t0
    if not finished_all and injector is None:  # where the work stopped (a chaos run's report says it too)
        from CTAODIRAC.LocalDIRAC.chaos import where_held

        res = tc.getTransformationFiles({"TransformationID": list(tids.values())})
        try:
            held = where_held(tc, res["Value"]) if res["OK"] else [f"cannot read the files: {res['Message']}"]
        except Exception as exc:  # noqa: BLE001 - a diagnosis that fails must not hide the summary
            held = [f"cannot say where the inputs still Assigned are held: {exc!r}"]
        if held:
            print("not complete; inputs still Assigned, where they are held:\n" + "\n".join(f"  {h}" for h in held))

    # 4. the summary, the report (tables, pictures, one HTML page), and where the time went
    # the campaign's DL2: both models applied to the performance samples (the classifier-training samples with
    # the energy applied are DL2 too, but intermediate)
    dl2 = meta.find_files({"MCCampaign": campaign, "data_level": 2, "outputType": "Data",
                           "analysis_prog": "ctapipe-apply-models", "split": "performance"})
    models = meta.find_files({"MCCampaign": campaign, "outputType": "Model"})
    done = {step: states.get(tid, {}).get("Processed", 0) for step, tid in tids.items()}
    # plain: every file processed; chaos: every transformation and production Completed (files given up too)
    complete = finished_all
    report_dir = inst.root / "reports" / campaign
    data = read_report_data(plan, campaign, inst, models, dl2, elapsed, args.pilots,
                            chaos_dir / "faults.jsonl" if args.chaos else None)
    timing = summary_split(data.jobs)
    summary = {"campaign": campaign, "complete": complete, "seconds": round(elapsed),
               "submission_seconds": round(submitted_at - t0), "pilots": args.pilots, "timing": timing,
               "files_processed_per_step": done, "models": models, "dl2_outputs": dl2}
    ok = complete and len(dl2) >= 4
    if injector is not None:
        report = chaos_mod.chaos_report(injector, plan, tids, f"/ctao/toy/{campaign}", stores, lost_for_good)
        summary["chaos"] = report
        ok = complete and not report["problems"] and len(dl2) >= 3
        (chaos_dir / "report.json").write_text(json.dumps(summary, indent=1, default=str))
        parts = ("to_job", "queued", "wrapper", "payload", "upload")
        split = ", ".join(f"{key} {timing[key]['sum_s']} s" for key in parts)
        print(report["text"] + f"\nwall time {round(elapsed)} s (submission {round(submitted_at - t0)} s); "
              f"{timing['jobs']} jobs: {split}", flush=True)
    metrics = dl2_metrics(inst, dl2, Path(args.ctapipe_env))
    written = write_report(data, report_dir, metrics, extra={"summary": summary})
    summary["report"] = str(written.page)
    summary_file = report_dir / "summary.json"
    summary_file.write_text(json.dumps(summary, indent=1, default=str))
    show_summary(data, metrics, summary, summary_file, written)
    if args.json:
        print(json.dumps(summary, indent=1, default=str), flush=True)
    return 0 if ok else 1


def read_report_data(plan: Any, campaign: str, inst: Any, models: list[str], dl2: list[str], elapsed: float,
                     pilots: int, faults: Path | None) -> Any:
    """The report's data, read from DIRAC as ``dirac-ctao-campaign-report`` reads it, with what only this run
    knows: which local pilot ran each job (from the pilots' logs), the faults it injected, its wall time."""
    from CTAODIRAC.ProductionSystem.Client.CampaignReader import CampaignReader

    data = CampaignReader(pilots=pilots_from_logs(inst.root / "logs"), read_outputs=False).read(
        [p.name for p in plan.productions], title=f"campaign {campaign}")
    data.models, data.dl2 = list(models), list(dl2)
    data.wall_seconds, data.pilots = elapsed, pilots
    if faults is not None and faults.exists():
        data.events = sorted([*data.events, *fault_events(faults.read_text())], key=lambda e: e.time)
    return data


#: The local pilots' logs: ``agent_WorkloadManagement_JobAgent_<pilot>.log``.
PILOT_LOG = "agent_WorkloadManagement_JobAgent_"


def pilots_from_logs(logs: Path) -> dict[int, str]:
    """``{job: pilot}`` from the local pilots' logs (a JobAgent logs ``Received JobID=N`` for each job it takes;
    the pilot is named after its log: ``pilot1``, ``bad-site``, ``software-missing``...)."""
    found: dict[int, str] = {}
    for log in sorted(logs.glob(PILOT_LOG + "*.log"), key=lambda p: p.stat().st_mtime):
        name = log.stem[len(PILOT_LOG):]
        name = re.sub(r"_\d+_\d+$", "", name)  # the one-job sick pilots: <kind>_<run pid>_<n>
        for job in re.findall(r"Received JobID=(\d+)", log.read_text(errors="replace")):
            found[int(job)] = name
    return found


def fault_events(text: str) -> list[Any]:
    """The faults a chaos run applied (its ``faults.jsonl``) as report events."""
    from CTAODIRAC.Core.Report.data import Event

    events = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("what") == "applied":
            events.append(Event(float(entry["time"]), "fault", str(entry.get("kind", "")),
                                str(entry.get("target") or entry.get("jobs") or entry.get("lfns") or "")))
    return events


def dl2_metrics(inst: Any, dl2: list[str], ctapipe_env: Path) -> dict[str, Any] | None:
    """The DL2 numbers of the report, read from the stored DL2 files by the payload environment's ctapipe (None,
    with a note, when they cannot be read: the campaign's result does not depend on them)."""
    from CTAODIRAC.Core.Report.dl2 import DL2ReadError, read_metrics

    paths = [inst.storage / lfn.lstrip("/") for lfn in dl2]
    if not paths:
        return None
    try:
        return read_metrics(paths, str(ctapipe_env / "bin" / "python"))
    except (DL2ReadError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"note: no DL2 plots ({exc})", flush=True)
        return None


def show_summary(data: Any, metrics: dict[str, Any] | None, summary: dict[str, Any], summary_file: Path,
                 written: Any) -> None:
    """The campaign's ending, for a person: the tables, then where the summary and the report are."""
    from rich.console import Console

    from CTAODIRAC.Core.Report import render

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    console.print()
    render.show(data, console, metrics)
    state = "complete" if summary["complete"] else "[red]NOT complete[/]"
    console.print(f"campaign {summary['campaign']} {state} in {summary['seconds']} s (submission "
                  f"{summary['submission_seconds']} s), {len(summary['dl2_outputs'])} DL2 files, "
                  f"{len(summary['models'])} models")
    console.print(f"summary (JSON): {summary_file}")
    console.print(f"report: {written.page} ({len(written.pictures)} pictures)", soft_wrap=True)


#: The chaos run's extra DL0 run, whose stored copies are lost for good (a proton performance run: the proton
#: performance sample keeps its other run).
LOST_SAMPLE = ("proton", "performance")
SPARE_SE = SPARE_SE_NAME
FAILOVER_SE = FAILOVER_SE_NAME
#: The bad site's worker node: the second site, with no disk space left for a job.
BAD_SITE = {
    "LocalSite": {"Site": SPARE_SITE, "LocalSE": SPARE_SE},
    "Systems": {"WorkloadManagement": {"JobWrapper": {"MinDiskSpace": 10**9}}},
}


def load_campaign_plan(text: str) -> Any:
    from CTAODIRAC.Core.Production.loader import load_plan

    return load_plan(text=text, filename="examples/ctapipe_campaign.yaml")


def submitter(campaign: str, ctapipe_env: str, chaos: bool = False) -> Any:
    """The campaign's submitter: outputs to the local SE (with the local site's failover SE in a chaos run: the
    spare site is the bad one there)."""
    from CTAODIRAC.Core.JobSide import Software
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter

    return ProductionSubmitter(f"/ctao/toy/{campaign}/out", output_se=SE, failover_ses=[FAILOVER_SE] if chaos else [],
                               software=Software(kind="venv", location=ctapipe_env))


def submit_with_a_kill(args: Any, campaign: str, settings: Any, chaos_dir: Path, plan_text: str) -> dict[str, int]:
    """Submit in a process of its own, SIGKILLed once at a seeded moment, then run again to the end."""
    from CTAODIRAC.LocalDIRAC import chaos as chaos_mod

    plan_file = chaos_dir / f"{campaign}.yaml"
    plan_file.write_text(plan_text)
    out = chaos_dir / "submitted.json"
    command = [sys.executable, "-m", "CTAODIRAC.LocalDIRAC.campaign", "--root", args.root, "--ctapipe-env",
               args.ctapipe_env, "--submit-only", str(plan_file), str(out)]
    kill_after = chaos_mod.submission_kill_delay(settings) if settings.kill_submission else None

    def record(what: str, **data: Any) -> None:
        with open(chaos_dir / "faults.jsonl", "a") as log:
            log.write(json.dumps({"time": round(time.time(), 1), "what": what, **data}, default=str) + "\n")

    run = chaos_mod.run_killed_then_again(command, dict(os.environ), Path(args.root), kill_after, record)
    record("submission-rerun", returncode=run.returncode, output=(run.stdout + run.stderr)[-3000:])
    if run.returncode != 0:
        raise RuntimeError(f"the re-run of the submission failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return {k: int(v) for k, v in json.loads(out.read_text()).items()}


#: ``PollingTime`` of the campaign's data-driven agents. All three cycle every 10 s; these values only set when,
#: within those 10 s, each one runs: the InputDataAgent at +1 s (its cycle takes ~5 s: a catalog query per
#: transformation), the TransformationAgent at +7 s (tasks for the files just found) and the WorkflowTaskAgent
#: at +2 s, i.e. 5 s after the tasks were made, past the 3-s task hold (csconfig.TASK_SUBMISSION_DELAY). Started
#: in step (all at 10), the WorkflowTaskAgent ran a moment after the TransformationAgent, found the new tasks
#: still held, and every step of a campaign waited 10 s more.
STAGGER = {"InputDataAgent": 10, "TransformationAgent": 3, "WorkflowTaskAgent": 8}


def agent_specs(types: str, chaos: bool = False, stalled: bool = False) -> list[Any]:
    """The long-running agents of the campaign (with ``chaos``: the request executor for failover requests, and
    DIRAC's StalledJobAgent when it can work, i.e. with OpenSearch)."""
    from CTAODIRAC.LocalDIRAC.chaos import SITE_BAN_THRESHOLD, AgentSpec

    failure_options = ["ReportOnly=False", "MinJobAge=0", f"TransformationTypes={types}"]
    if chaos:  # the bad site is kept away from a transformation's files after its infrastructure failures there
        # and the campaign's first-level transformations (fed by the catalog) are completed too once done
        failure_options += [f"SiteBanThreshold={SITE_BAN_THRESHOLD}", "SiteBanClasses=infrastructure",
                            "ActOnTransformationsWithoutParents=True"]
    # Every agent runs a cycle every 10 s (DIRAC's agent scheduler runs none more often); a polling time p < 10
    # only puts its first cycle 10 - p s after start (see control.RUN_POLLING). So the three data-driven agents
    # are staggered (STAGGER): see docs/local-dirac.md "How fast a campaign goes".
    specs = [
        AgentSpec("Transformation/InputDataAgent", STAGGER["InputDataAgent"], [f"TransformationTypes={types}"]),
        # NoUnusedDelay: DIRAC skips a transformation that had no Unused files for 6 hours by default
        AgentSpec("Transformation/TransformationAgent", STAGGER["TransformationAgent"],
                  [f"TransformationTypes={types}", "NoUnusedDelay=0"]),
        AgentSpec("Transformation/WorkflowTaskAgent", STAGGER["WorkflowTaskAgent"],
                  [f"TransType={types}", "shifterProxy=ProductionManager", "MonitorTasks=", "MonitorFiles="]),
        AgentSpec("Transformation/FailureManagementAgent", 20 if not chaos else 10, failure_options),
    ]
    if chaos:
        specs.append(AgentSpec("RequestManagement/RequestExecutingAgent", 10, []))
    if stalled:
        specs.append(AgentSpec("WorkloadManagement/StalledJobAgent", 10, ["StalledTimeHours=2", "FailedTimeHours=3"]))
    return specs


def opensearch_running(inst: Any) -> bool:
    """Whether the instance runs OpenSearch (DIRAC's StalledJobAgent needs it to read a job's pilot)."""
    from CTAODIRAC.LocalDIRAC import control

    return any(row.name.lower().startswith("opensearch") and row.pid is not None for row in control.status(inst))


def productions_completed(plan: Any) -> bool:
    from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient

    client = ProductionClient()
    for production in plan.productions:
        res = client.getProduction(production.name)
        if not res["OK"] or res["Value"]["Status"] != "Completed":
            return False
    return True


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


if __name__ == "__main__":
    sys.exit(main())

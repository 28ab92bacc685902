"""Run the example ctapipe campaign end to end on the local DIRAC, from toy DL0 to DL2.

Started by ``dirac-ctao-local campaign`` in the instance's environment (this module imports DIRAC). What it
does by itself: write toy DL0 input descriptions (CTAODIRAC.ToyEvents) and the ctapipe configuration files,
register them in the catalog, and submit ``examples/ctapipe_campaign.yaml`` in a reduced size (a campaign
name of its own, one file per group). Everything after that is done by DIRAC's agents and ours, run in
turn as a data centre would run them: InputDataAgent, TransformationAgent, WorkflowTaskAgent, a JobAgent
executing the jobs here, and the FailureManagementAgent (acting) retrying jobs that failed, e.g. an
apply-models job that ran before its model existed. Progress is printed after each round, and a summary at
the end.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

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
    args, _ = parser.parse_known_args()

    import DIRAC

    DIRAC.initialize()
    from DIRAC.DataManagementSystem.Client.DataManager import DataManager
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
    from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

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
    print(f"submitted {len(tids)} transformations", flush=True)

    # 3. the agents, in rounds
    tc = TransformationClient()
    types = ",".join(sorted({s.type for s in plan.steps}))
    agents = [
        ("Transformation/InputDataAgent", [f"TransformationTypes={types}"]),
        ("Transformation/TransformationAgent", [f"TransformationTypes={types}"]),
        ("Transformation/FailureManagementAgent", ["ReportOnly=False", "MinJobAge=0", f"TransformationTypes={types}"]),
    ]
    done: dict[str, int] = {}
    rounds = 0
    while time.monotonic() - t0 < args.timeout:
        rounds += 1
        for name, options in agents:
            control.run_agent(inst, name, 1, options)
        # DIRAC hands out tasks only 30 s after their creation: age them (the rounds are the clock here)
        control.mariadb._client(inst, "TransformationDB", sql=(  # noqa: SLF001
            "UPDATE TransformationTasks SET CreationTime = CreationTime - INTERVAL 1 MINUTE "
            f"WHERE ExternalStatus = 'Created' AND TransformationID IN ({','.join(map(str, tids.values()))})"))
        control.run_agent(inst, "Transformation/WorkflowTaskAgent", 1,
                          [f"TransType={types}", "shifterProxy=ProductionManager", "MonitorTasks=", "MonitorFiles="])
        for _ in range(6):  # a JobAgent stops after a failed payload, as a pilot does: start it again
            control.run_job_agent(inst, cycles=1)
        files = tc.getTransformationFiles({"TransformationID": list(tids.values())})["Value"]
        by_trans: dict[int, list[str]] = {}
        for f in files:
            by_trans.setdefault(f["TransformationID"], []).append(f["Status"])
        done = {step: by_trans.get(tid, []).count("Processed") for step, tid in tids.items()}
        finished = sum(1 for step in tids if done[step] and all(s == "Processed" for s in by_trans[tids[step]]))
        print(f"round {rounds} ({time.monotonic() - t0:5.0f} s): {finished}/{len(tids)} transformations done, "
              f"{sum(done.values())} files processed", flush=True)
        if finished == len(tids):
            break
    dl2 = meta.find_files({"MCCampaign": campaign, "data_level": 2, "outputType": "Data",
                           "analysis_prog": "ctapipe-apply-models"})
    models = meta.find_files({"MCCampaign": campaign, "outputType": "Model"})
    summary = {"campaign": campaign, "seconds": round(time.monotonic() - t0), "rounds": rounds,
               "files_processed_per_step": done, "models": models, "dl2_outputs": dl2}
    print(json.dumps(summary, indent=1), flush=True)
    return 0 if all(done.values()) and len(dl2) >= 4 else 1


if __name__ == "__main__":
    sys.exit(main())

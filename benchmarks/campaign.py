"""Benchmark: the example campaign end to end on a local DIRAC, and where its time goes.

    .venv/bin/python benchmarks/campaign.py [--showers N] [--pilots P] [--keep]

Brings up a fresh local DIRAC in /tmp (ports +3500), runs ``dirac-ctao-local campaign`` (29 transformations
from toy DL0 to DL2, driven by DIRAC's agents, ours and local JobAgent pilots), and prints:

- the wall time, split into the submission (toy DL0 registration + the campaign's submission) and the run;
- per job (sums and medians): DIRAC's task hold and WorkflowTaskAgent polling (``to_job``), the queue
  (``queued``: optimizers and waiting for a pilot), DIRAC's job wrapper (``wrapper``), the ctapipe payload
  (``payload``) and the job-side command's uploads, registrations and file statuses (``upload``);
- ratios: payload share of the job run, the job-side command's overhead per job relative to the payload, how
  much of the pilots' capacity the jobs used (pilots busy: DIRAC's delays between steps and the campaign's shape
  leave the rest idle), and how much the payloads used (the product of the first and the pilots busy).

Needs ``.venv-ctapipe`` (``make install`` with a Python 3.12). Takes ~10-15 minutes on a 2-core machine. The
instance is removed afterwards unless --keep. Compare ratios of one run rather than seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from CTAODIRAC.LocalDIRAC import control
from CTAODIRAC.LocalDIRAC.instance import Instance

PORT_OFFSET = 3500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--showers", type=int, default=200)
    parser.add_argument("--pilots", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the instance directory")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ctaodirac-bench-campaign-"))
    env = {**os.environ, "CTAODIRAC_LOCAL_ROOT": str(root), "CTAODIRAC_LOCAL_PORT_OFFSET": str(PORT_OFFSET)}
    local = str(control.venv_bin() / "dirac-ctao-local")
    try:
        t0 = time.perf_counter()
        subprocess.run([local, "up"], env=env, check=True, stdout=subprocess.DEVNULL)
        up = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = subprocess.run([local, "campaign", "--showers", str(args.showers), "--pilots", str(args.pilots),
                              "--json"],
                             env=env, capture_output=True, text=True)  # fmt: skip
        wall = time.perf_counter() - t0
        out = run.stdout
        summary = json.loads(out[out.index("{\n"):])
    finally:
        subprocess.run([local, "down"], env=env, stdout=subprocess.DEVNULL)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    timing = summary["timing"]

    def total(key: str) -> float:
        return float(timing[key]["sum_s"] or 0)

    def median(key: str) -> float:
        return float(timing[key]["median_s"] or 0)

    jobs = timing["jobs"]
    job_run = total("wrapper") + total("payload") + total("upload")
    print(f"local DIRAC up (fresh): {up:.0f} s")
    print(f"campaign: {'complete' if summary['complete'] else 'INCOMPLETE'}, {len(summary['files_processed_per_step'])} "
          f"transformations, {jobs} jobs, {len(summary['models'])} models, {len(summary['dl2_outputs'])} DL2 files, "
          f"{args.showers} showers per DL0 run, {args.pilots} pilots")  # fmt: skip
    print(f"wall time: {wall:.0f} s (submission incl. toy DL0 registration {summary['submission_seconds']} s, "
          f"the rest {summary['seconds'] - summary['submission_seconds']} s)")
    print(f"{'per job':<12} {'sum s':>8} {'median s':>9}")
    for key in ("to_job", "queued", "wrapper", "payload", "upload"):
        print(f"{key:<12} {total(key):>8.0f} {median(key):>9.1f}")
    print("ratios:")
    print(f"  payload / job run (wrapper + payload + upload):    {total('payload') / job_run:.2f}")
    print(f"  job-side command (upload) / payload:               {total('upload') / total('payload'):.2f}")
    print(f"  DIRAC's job wrapper / payload:                     {total('wrapper') / total('payload'):.2f}")
    print(f"  DIRAC's task hold and queue / job run:             {(total('to_job') + total('queued')) / job_run:.2f}")
    capacity = args.pilots * (summary["seconds"] - summary["submission_seconds"])
    print(f"  job runs / (pilots x run time) (pilots busy):      {job_run / capacity:.2f}")
    print(f"  payload time / (pilots x run time):                {total('payload') / capacity:.2f}")
    print("  (the last = the first x the one above: DIRAC's wrapper is paid per job, pilots idle between steps)")
    return 0 if summary["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())

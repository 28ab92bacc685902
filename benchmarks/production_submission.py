"""Benchmark: plan a 1,000-step production offline; submit the example campaign to the local DIRAC.

    .venv/bin/python benchmarks/production_submission.py [--steps N] [--no-submit]

Offline: time and peak Python memory (tracemalloc) to read, check and plan a generated file of N steps
(default 1,000: a matrix of N/2 samples, each processed then merged), against the 29-step example campaign.
Submission: brings the default local DIRAC up (dirac-ctao-local up), submits the campaign under a fresh
name, and counts the client's DIRAC calls (every DISET RPC the submitting process makes). Prints numbers and
ratios; on a shared machine compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from CTAODIRAC.Core.Production.loader import load_plan

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = ROOT / "examples" / "ctapipe_campaign.yaml"


def generated_file(steps: int) -> str:
    samples = "\n".join(f"    - {{sample: s{i:04d}, run: {i}}}" for i in range(steps // 2))
    return f"""format: 1
inputs:
  dl0:
    query: {{MCCampaign: Bench, site: LaPalma, data_level: 0, outputType: Data}}
matrix:
  sample:
{samples}
defaults:
  version: v0.19.2
productions:
  - name: bench
    steps:
      - name: process-$sample
        kind: ctapipe-process
        foreach: sample
        input: dl0
        where: {{run_number: $run}}
        group_size: 5
      - name: merge-$sample
        kind: ctapipe-merge
        foreach: sample
        parents: [process-$sample]
        group_size: 10
"""


def measure_plan(text: str, name: str) -> tuple[float, float, int]:
    """Best of 3 wall times (no tracing), then the peak traced memory of one more run."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        plan = load_plan(text=text, filename=name)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    load_plan(text=text, filename=name)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak / 2**20, len(plan.steps)


def submit_campaign() -> tuple[float, int, int, dict[str, int]]:
    from CTAODIRAC.LocalDIRAC import control
    from CTAODIRAC.LocalDIRAC.instance import Instance

    inst = Instance()
    control.up(inst)
    os.environ.clear()
    os.environ.update(inst.environment("prodmgr"))
    import DIRAC
    from DIRAC.Core.DISET.private.InnerRPCClient import InnerRPCClient

    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter

    DIRAC.initialize()
    calls: dict[str, int] = {}
    original = InnerRPCClient.executeRPC

    def counting(self, functionName, args):
        calls[functionName] = calls.get(functionName, 0) + 1
        return original(self, functionName, args)

    InnerRPCClient.executeRPC = counting
    unique = uuid.uuid4().hex[:8]
    text = CAMPAIGN.read_text().replace("MCCampaign: Prod6", f"MCCampaign: Bench-{unique}")
    for name in ("dl0-to-dl2", "final-merge", "energy", "classifier", "dl2-performance"):
        text = text.replace(f"  - name: {name}\n", f"  - name: {name}-{unique}\n")
    plan = load_plan(text=text, filename="campaign.yaml")
    t0 = time.perf_counter()
    results = ProductionSubmitter("/ctao/bench").submit(plan)
    seconds = time.perf_counter() - t0
    created = sum(len(p.steps) for p in results)
    return seconds, created, sum(calls.values()), calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--no-submit", action="store_true", help="only the offline part")
    args = parser.parse_args()

    small_s, small_mb, small_n = measure_plan(CAMPAIGN.read_text(), str(CAMPAIGN))
    big_s, big_mb, big_n = measure_plan(generated_file(args.steps), "generated.yaml")
    print("offline planning (read, check, plan):")
    print(f"  campaign:  {small_n:5d} steps  {small_s * 1000:8.1f} ms  peak {small_mb:6.1f} MiB")
    print(f"  generated: {big_n:5d} steps  {big_s * 1000:8.1f} ms  peak {big_mb:6.1f} MiB")
    print(f"  ratios: time {big_s / small_s:.1f}x, memory {big_mb / small_mb:.1f}x for {big_n / small_n:.1f}x steps")
    if args.no_submit:
        return 0
    with tempfile.TemporaryDirectory():
        seconds, created, rpcs, calls = submit_campaign()
    print("submission of the campaign to the local DIRAC:")
    print(f"  {created} transformations in {seconds:.1f} s ({seconds / created:.2f} s each)")
    print(f"  {rpcs} client RPCs, {rpcs / created:.2f} per transformation created")
    print("  by call: " + ", ".join(f"{name} {count}" for name, count in sorted(calls.items(), key=lambda kv: -kv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

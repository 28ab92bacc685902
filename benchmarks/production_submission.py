"""Benchmark: plan a 1,000-step production offline; submit the example campaign to the local DIRAC.

    .venv/bin/python benchmarks/production_submission.py [--steps N] [--no-submit] [--latency MS] [--keep]

Offline: time and peak Python memory (tracemalloc) to read, check and plan a generated file of N steps (default
1,000: a matrix of N/2 samples, each processed then merged), against the 29-step example campaign. Submission:
brings up a local DIRAC of its own in a temporary directory (ports + ``CTAODIRAC_LOCAL_PORT_OFFSET``: ``make
bench`` gives 3000, once the local DIRAC benchmark's instance is down), removed at the end (``--keep`` keeps it):
the productions it submits, left Active, would otherwise stay in the instance they went to, polled by every later
campaign's agents. It submits the campaign four times under fresh names in this one process: the client-side path
(every DIRAC call made from here, ``--client-side``) and the server-side path (one ``submitProductions`` call, the
default), each first as is and then with ``--latency`` ms (default 100) added to every client call, as a production
manager far from the data centre sees it (each DISET call of this process sleeps that long before it starts).
Counts the client's DIRAC calls (every DISET RPC this process makes, but the configuration refreshes of DIRAC's
background thread) and the wall time. Then, as root, the DISET ping of a service and the server-side submission
with and without immediate TCP acknowledgements on the host's own routes (``quickack``, which ``dirac-ctao-local
up`` sets: docs/local-dirac.md), the routes put back as they were at the end. Prints numbers and ratios; on a
shared machine compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def _environment(inst) -> dict[str, str]:
    """Bring the local DIRAC ``inst`` up and make this process its production manager; the environment before."""
    from CTAODIRAC.LocalDIRAC import control

    control.up(inst)
    environment = dict(os.environ)
    os.environ.clear()
    os.environ.update(inst.environment("prodmgr"))
    import DIRAC

    DIRAC.initialize()
    return environment


class Link:
    """Every DISET call of this process counted, and delayed by ``latency`` seconds before it starts."""

    def __init__(self) -> None:
        from DIRAC.Core.DISET.private.InnerRPCClient import InnerRPCClient

        self.latency = 0.0
        self.calls: dict[str, int] = {}
        original = InnerRPCClient.executeRPC
        link = self

        def counted(client, functionName, args):  # noqa: N803 - DIRAC's name
            if "Configuration/" in client.getDestinationService():  # the CS refreshes of DIRAC's own thread
                return original(client, functionName, args)
            link.calls[functionName] = link.calls.get(functionName, 0) + 1
            if link.latency:
                time.sleep(link.latency)
            return original(client, functionName, args)

        InnerRPCClient.executeRPC = counted


def submit_campaign(link: Link, server_side: bool, latency: float) -> tuple[float, int, int, dict[str, int]]:
    """Submit the example campaign under fresh names: (seconds, transformations, client RPCs, RPCs by call)."""
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter
    from CTAODIRAC.ProductionSystem.Client.ServerSubmission import ServerSubmitter

    unique = uuid.uuid4().hex[:8]
    text = CAMPAIGN.read_text().replace("MCCampaign: Prod6", f"MCCampaign: Bench-{unique}")
    for name in ("dl0-to-dl2", "final-merge", "energy", "classifier", "dl2-performance"):
        text = text.replace(f"  - name: {name}\n", f"  - name: {name}-{unique}\n")
    plan = load_plan(text=text, filename="campaign.yaml")
    submitter = (ServerSubmitter if server_side else ProductionSubmitter)("/ctao/bench")
    link.calls, link.latency = {}, latency
    t0 = time.perf_counter()
    try:
        results = submitter.submit(plan)
    finally:
        seconds = time.perf_counter() - t0
        link.latency = 0.0
    created = sum(len(p.steps) for p in results)
    return seconds, created, sum(link.calls.values()), dict(link.calls)


def ping_ms(times: int = 30) -> float:
    """The median wall time of a DISET ping of the TransformationManager, in ms."""
    from DIRAC.Core.Base.Client import Client

    client, samples = Client(url="Transformation/TransformationManager"), []
    for _ in range(times):
        t0 = time.perf_counter()
        assert client.ping()["OK"]
        samples.append((time.perf_counter() - t0) * 1000)
    return sorted(samples)[len(samples) // 2]


def compare_quickack(link: Link) -> dict[int, tuple[float, float]] | None:
    """{quickack value: (ping ms, server-side submission s)}, the routes put back as they were; None if not root."""
    from CTAODIRAC.LocalDIRAC import loopback

    before = loopback.quickack_now()
    if os.geteuid() != 0 or before is None:
        return None
    measured = {}
    try:
        for value in (0, 1):
            if loopback.set_quickack(value).startswith("not set"):
                return None
            measured[value] = (ping_ms(), submit_campaign(link, True, 0.0)[0])
    finally:
        loopback.set_quickack(1 if before else 0)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--no-submit", action="store_true", help="only the offline part")
    parser.add_argument("--latency", type=int, default=100, help="ms added to every client call in the second round")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's local DIRAC directory (stopped)")
    args = parser.parse_args()

    small_s, small_mb, small_n = measure_plan(CAMPAIGN.read_text(), str(CAMPAIGN))
    big_s, big_mb, big_n = measure_plan(generated_file(args.steps), "generated.yaml")
    print("offline planning (read, check, plan):")
    print(f"  campaign:  {small_n:5d} steps  {small_s * 1000:8.1f} ms  peak {small_mb:6.1f} MiB")
    print(f"  generated: {big_n:5d} steps  {big_s * 1000:8.1f} ms  peak {big_mb:6.1f} MiB")
    print(f"  ratios: time {big_s / small_s:.1f}x, memory {big_mb / small_mb:.1f}x for {big_n / small_n:.1f}x steps")
    if args.no_submit:
        return 0
    from CTAODIRAC.LocalDIRAC import control
    from CTAODIRAC.LocalDIRAC.instance import Instance

    root = Path(tempfile.mkdtemp(prefix="ctaodirac-bench-submission-"))
    inst = Instance(root / "instance")
    inst.identity(create=True)  # port offset from $CTAODIRAC_LOCAL_PORT_OFFSET
    environment = dict(os.environ)
    try:
        environment = _environment(inst)
        link = Link()
        runs = {}
        for latency in (0.0, args.latency / 1000):
            for server_side in (False, True):
                runs[(server_side, latency)] = submit_campaign(link, server_side, latency)
        acks = compare_quickack(link)
    finally:
        os.environ.clear()
        os.environ.update(environment)
        control.down(inst)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("submission of the example campaign to the local DIRAC (client-side: every call from here; "
          "server-side: one submitProductions):")
    for (server_side, latency), (seconds, created, rpcs, calls) in runs.items():
        label = f"{'server-side' if server_side else 'client-side'} +{latency * 1000:.0f} ms/call"
        print(f"  {label:27s} {created} transformations in {seconds:5.1f} s ({seconds / created:.2f} s each), "
              f"{rpcs} client RPCs ({rpcs / created:.2f} per transformation)")
        print("      by call: " + ", ".join(f"{n} {c}" for n, c in sorted(calls.items(), key=lambda kv: -kv[1])))
    for latency in (0.0, args.latency / 1000):
        old, new = runs[(False, latency)], runs[(True, latency)]
        print(f"  ratios client-side/server-side at +{latency * 1000:.0f} ms: RPCs {old[2] / new[2]:.0f}x, "
              f"wall time {old[0] / new[0]:.2f}x")
    for server_side in (False, True):
        slow, fast = runs[(server_side, args.latency / 1000)], runs[(server_side, 0.0)]
        print(f"  {'server-side' if server_side else 'client-side'}: +{args.latency} ms per call adds "
              f"{slow[0] - fast[0]:.1f} s ({(slow[0] - fast[0]) / slow[1]:.2f} s per transformation)")
    if acks is None:
        print("delayed vs immediate TCP acknowledgements: not measured (needs root and `ip`)")
    else:
        (ping_off, submit_off), (ping_on, submit_on) = acks[0], acks[1]
        print("delayed vs immediate TCP acknowledgements on the host's own routes (quickack 0 / 1):")
        print(f"  DISET ping (median of 30): {ping_off:6.1f} ms / {ping_on:6.1f} ms, ratio {ping_off / ping_on:.1f}x")
        print(f"  server-side submission:    {submit_off:6.1f} s  / {submit_on:6.1f} s,  ratio "
              f"{submit_off / submit_on:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

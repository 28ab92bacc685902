"""Benchmark: time from nothing to a ready local DIRAC (cold, restart, warm) and the services' memory.

    .venv/bin/python benchmarks/local_dirac.py [--keep]

Uses a fresh instance directory in /tmp (DIRAC's standard ports: stop any other local DIRAC first),
and removes it afterwards unless --keep. Prints the numbers and the ratios between them; on a shared,
noisy machine compare ratios of one run rather than seconds across runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from CTAODIRAC.LocalDIRAC import control, csconfig, mariadb, opensearch, portal
from CTAODIRAC.LocalDIRAC.instance import COMPONENTS, Instance
from CTAODIRAC.LocalDIRAC.processes import Process, port_open, read_pid


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for kid in list(out):
        out += _children(kid)
    return out


def _kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(inst: Instance) -> tuple[dict[str, int], dict[str, int]]:
    """Resident and peak resident memory (KiB) per process, children included (a group of services: one)."""
    rss, peak = {}, {}
    names = {mariadb.MYSQL_KEY: "MariaDB", opensearch.KEY: "OpenSearch", portal.KEY: "portal"}
    for comp in csconfig.all_components():
        members = control.process_members(comp)
        names.setdefault(comp.key, f"{comp.key} ({len(members)} services)" if comp.group else comp.full_name)
    rows = [(name, read_pid(Process(inst, key))) for key, name in names.items()]
    for name, pid in rows:
        if pid is None:
            continue
        pids = [pid, *_children(pid)]
        rss[name] = sum(_kib(p, "VmRSS") for p in pids)
        peak[name] = sum(_kib(p, "VmHWM") for p in pids)
    return rss, peak


def timed(func) -> float:
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the benchmark instance directory")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ctaodirac-bench-"))
    inst = Instance(root / "instance")
    inst.identity(create=True)  # port offset from $CTAODIRAC_LOCAL_PORT_OFFSET
    busy = [c.full_name for c in COMPONENTS if c.port and port_open(inst.port(c))]
    if busy:
        shutil.rmtree(root, ignore_errors=True)
        print(f"ports in use ({', '.join(busy)}): stop the other local DIRAC (make down) or set "
              "CTAODIRAC_LOCAL_PORT_OFFSET", file=sys.stderr)
        return 2
    try:
        cold = timed(lambda: control.up(inst))
        warm = timed(lambda: control.up(inst))
        rss, peak = memory(inst)
        stop = timed(lambda: control.down(inst))
        restart = timed(lambda: control.up(inst))
        rss2, peak2 = memory(inst)
        portal_start = timed(lambda: control.start_portal(inst))
        rss3, _ = memory(inst)
    finally:
        control.down(inst)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    mib = 1024.0
    dirac_processes = [name for name in rss if name not in ("MariaDB", "OpenSearch")]
    services = len([c for c in csconfig.all_components() if not c.on_demand and c.kind == "service"])
    print(f"local DIRAC: {services} services and the executors in {len(dirac_processes)} DIRAC processes + MariaDB + "
          f"OpenSearch (the portal and the {len([c for c in COMPONENTS if c.on_demand])} services only it uses are "
          "started on demand)")
    print(f"  cold up (nothing -> ready, software installed): {cold:7.1f} s")
    print(f"  restart up (state kept, processes stopped):     {restart:7.1f} s")
    print(f"  warm up (already up, nothing to do):            {warm:7.2f} s")
    print(f"  down:                                           {stop:7.1f} s")
    print(f"  ratios: restart/cold = {restart / cold:.2f}, warm/cold = {warm / cold:.3f}")
    print(f"  resident memory after cold up: {sum(rss.values()) / mib:7.0f} MiB "
          f"(peak {sum(peak.values()) / mib:.0f} MiB; MariaDB {rss.get('MariaDB', 0) / mib:.0f} MiB)")
    print(f"  resident memory after restart: {sum(rss2.values()) / mib:7.0f} MiB (peak {sum(peak2.values()) / mib:.0f} MiB)")
    without_search = sum(v for k, v in rss.items() if k != "OpenSearch")
    print(f"  of which DIRAC + MariaDB (no OpenSearch): {without_search / mib:7.0f} MiB; "
          f"OpenSearch {rss.get('OpenSearch', 0) / mib:.0f} MiB")
    print(f"  with the portal (`dirac-ctao-local portal`, {portal_start:.1f} s): {sum(rss3.values()) / mib:7.0f} MiB")
    top = sorted(peak.items(), key=lambda kv: -kv[1])[:5]
    print("  largest peaks: " + ", ".join(f"{name} {kib / mib:.0f} MiB" for name, kib in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

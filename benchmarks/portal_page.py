"""Benchmark: the Production Monitor's page data with many transformations (docs/portal.md).

    .venv/bin/python benchmarks/portal_page.py [--transformations N] [--files F] [--calls C]

Brings the local DIRAC (``$CTAODIRAC_LOCAL_ROOT``) and its portal up, adds one production of N transformations
(default 1,000) with F files each (default 20, in six statuses) straight into the Production and Transformation
databases (SQL: making them through DIRAC would take minutes and is not what is measured), then asks the portal
for the page (``ProductionMonitor/getData``) over HTTPS with the production manager's certificate, as the app does:
wall time of each call, the handler's own time (its four RPCs and the assembly), the answer's size. The rows it
added are deleted at the end. Prints numbers; on a shared machine compare them with the same run's small page.
"""

from __future__ import annotations

import argparse
import json
import ssl
import statistics
import time
import urllib.request
import uuid

from CTAODIRAC.LocalDIRAC import control, mariadb, portal
from CTAODIRAC.LocalDIRAC.instance import Instance

STATUSES = ("Processed", "Unused", "Assigned", "Problematic", "MaxReset", "Removed")


def _sql(inst: Instance, db: str, sql: str) -> str:
    return mariadb._client(inst, db, sql=sql)  # noqa: SLF001 - benchmark helper


def _fetch(inst: Instance, path: str) -> tuple[float, bytes]:
    context = ssl.create_default_context(cafile=str(inst.ca_dir / "ca.pem"))
    udir = inst.user_dir("prodmgr")
    context.load_cert_chain(str(udir / "usercert.pem"), str(udir / "userkey.pem"))
    url = f"https://localhost:{portal.https_port(inst)}/DIRAC/s:/g:ctao_prodmgr/{path}"
    t0 = time.monotonic()
    with urllib.request.urlopen(url, context=context, timeout=120) as answer:
        body = answer.read()
    return time.monotonic() - t0, body


def _measure(inst: Instance, label: str, calls: int) -> None:
    walls, handler = [], []
    size = 0
    rows = 0
    for _ in range(calls):
        wall, body = _fetch(inst, "ProductionMonitor/getData")
        data = json.loads(body)
        assert data["success"] == "true", data
        walls.append(wall)
        handler.append(data["seconds"])
        size, rows = len(body), len(data["transformations"])
    print(f"{label}: {rows} transformations, {size / 1e6:.2f} MB answer; wall median {statistics.median(walls):.3f} s"
          f" (min {min(walls):.3f}), handler median {statistics.median(handler):.3f} s over {calls} calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transformations", type=int, default=1000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    inst = Instance()
    control.up(inst)
    control.start_portal(inst)
    _measure(inst, "before", args.calls)

    tag = f"bench{uuid.uuid4().hex[:6]}"
    n, files = args.transformations, args.files
    _sql(inst, "ProductionDB", "INSERT INTO Productions (ProductionName, Description, CreationDate, LastUpdate, Author,"
         f" AuthorGroup, Status) VALUES ('{tag}', '{{}}', UTC_TIMESTAMP(), UTC_TIMESTAMP(), 'prodmgr', 'ctao_prodmgr',"
         " 'Active')")  # fmt: skip
    (prod,) = _sql(inst, "ProductionDB", f"SELECT ProductionID FROM Productions WHERE ProductionName = '{tag}'").split()
    t0 = time.monotonic()
    try:
        _sql(inst, "TransformationDB", "INSERT INTO Transformations (TransformationName, Description, CreationDate,"
             " LastUpdate, Author, AuthorGroup, Type, Plugin, AgentType, Status, Body) SELECT"
             f" CONCAT(LPAD({prod}, 8, '0'), '_Step', seq, '_{tag}'), '{tag}', UTC_TIMESTAMP(), UTC_TIMESTAMP(),"
             f" 'prodmgr', 'ctao_prodmgr', 'Processing', 'Standard', 'Manual', 'Active', '' FROM seq_1_to_{n}")
        _sql(inst, "TransformationDB", "INSERT INTO DataFiles (LFN, Status) SELECT"
             f" CONCAT('/ctao/{tag}/', seq, '.dat'), 'AprioriGood' FROM seq_1_to_{n * files}")
        _sql(inst, "TransformationDB", "INSERT INTO TransformationFiles (TransformationID, FileID, Status, LastUpdate,"
             " InsertedTime) SELECT t.TransformationID, f.FileID, ELT(1 + MOD(f.n, 6), "
             + ", ".join(f"'{s}'" for s in STATUSES)
             + "), UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM"
             " (SELECT TransformationID, ROW_NUMBER() OVER (ORDER BY TransformationID) AS n FROM Transformations"
             f" WHERE Description = '{tag}') t JOIN"
             " (SELECT FileID, ROW_NUMBER() OVER (ORDER BY FileID) AS n FROM DataFiles"
             f" WHERE LFN LIKE '/ctao/{tag}/%') f ON (f.n - 1) DIV {files} = t.n - 1")  # fmt: skip
        print(f"added production {prod} with {n} transformations and {n * files} files in "
              f"{time.monotonic() - t0:.1f} s (SQL)")
        _measure(inst, "with them", args.calls)
    finally:
        _sql(inst, "TransformationDB", "DELETE tf FROM TransformationFiles tf JOIN Transformations t"
             f" ON tf.TransformationID = t.TransformationID WHERE t.Description = '{tag}'")
        _sql(inst, "TransformationDB", f"DELETE FROM DataFiles WHERE LFN LIKE '/ctao/{tag}/%'")
        _sql(inst, "TransformationDB", f"DELETE FROM Transformations WHERE Description = '{tag}'")
        _sql(inst, "ProductionDB", f"DELETE FROM Productions WHERE ProductionName = '{tag}'")


if __name__ == "__main__":
    main()

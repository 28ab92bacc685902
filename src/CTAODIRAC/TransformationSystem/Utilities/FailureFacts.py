"""The DIRAC side of the failure agent's fact gathering: :class:`DiracSources`, the real
:class:`~CTAODIRAC.Core.Failures.gather.Sources` over DIRAC's clients. The gathering itself is pure and lives in
:mod:`CTAODIRAC.Core.Failures.gather` (re-exported here)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from CTAODIRAC.Core.Failures.gather import (
    FAILED_STATUSES,
    HIGH_WATER_OVERLAP,
    Gathered,
    Records,
    Sources,
    gather,
    job_group,
    parse_time,
)

__all__ = [
    "HIGH_WATER_OVERLAP",
    "DiracSources",
    "Gathered",
    "Records",
    "Sources",
    "gather",
    "job_group",
    "parse_time",
]


class DiracSources:
    """:class:`Sources` over DIRAC's clients (and, for the production links no RPC exposes, ProductionDB).

    Each method makes one RPC (a few for very long LFN lists) and raises ``SErrorException`` on error;
    :attr:`rpcs` counts the RPCs made.
    """

    def __init__(
        self,
        transformations: Any,
        jobs: Any,
        productions: Any,
        production_db: Any,
        operations: Any,
        limits: dict[int, int | None] | None = None,
        queries: dict[int, tuple[dict[str, Any], dict[str, Any]]] | None = None,
    ):
        """``limits``, ``queries``: the input limits and meta-queries read in earlier cycles (by transformation),
        kept by the agent so that each is read once per transformation, not every cycle."""
        self._tc = transformations
        self._jm = jobs
        self._pc = productions
        self._pdb = production_db
        self._ops = operations
        self._limits = limits if limits is not None else {}
        self._queries = queries if queries is not None else {}
        self.rpcs = 0

    def _call(self, result: Mapping[str, Any], calls: int = 1) -> Any:
        from DIRAC.Core.Utilities.ReturnValues import returnValueOrRaise

        self.rpcs += calls
        return returnValueOrRaise(result)

    def transformations(self, statuses: Collection[str], types: Collection[str]) -> list[dict[str, Any]]:
        cond: dict[str, Any] = {"Status": list(statuses)}
        if types:
            cond["Type"] = list(types)
        return self._call(
            self._tc.getTransformations(
                condDict=cond, columns=["TransformationID", "Status", "Type", "GroupSize", "TransformationName"]
            )
        )

    def transformation_statuses(self, ids: Collection[int]) -> dict[int, str]:
        rows = self._call(
            self._tc.getTransformations(
                condDict={"TransformationID": sorted(ids)}, columns=["TransformationID", "Status"]
            )
        )
        return {int(row["TransformationID"]): str(row["Status"]) for row in rows}

    def production_links(self, ids: Collection[int]) -> tuple[dict[int, set[int]], dict[int, int]]:
        parents: dict[int, set[int]] = {}
        production: dict[int, int] = {}
        if not ids:
            return parents, production
        from DIRAC.Core.Utilities.ReturnValues import returnValueOrRaise

        ordered = sorted(ids)
        marks = ", ".join(["%s"] * len(ordered))
        rows = returnValueOrRaise(
            self._pdb._query(  # noqa: SLF001 - ProductionDB exposes no method for the links
                "SELECT TransformationID, ParentTransformationID, ProductionID FROM ProductionTransformationLinks"
                " WHERE TransformationID IN (" + marks + ")",
                args=ordered,
            )
        )
        for tid, parent, pid in rows:
            production[int(tid)] = int(pid)
            if parent is not None and int(parent) > 0:
                parents.setdefault(int(tid), set()).add(int(parent))
        return parents, production

    def active_productions(self) -> dict[int, set[int]]:
        rows = self._call(self._pc.getProductions(condDict={"Status": "Active"}))
        ids = sorted(int(row["ProductionID"]) for row in rows)
        members: dict[int, set[int]] = {pid: set() for pid in ids}
        if ids:
            from DIRAC.Core.Utilities.ReturnValues import returnValueOrRaise

            marks = ", ".join(["%s"] * len(ids))
            for pid, tid in returnValueOrRaise(
                self._pdb._query(  # noqa: SLF001
                    "SELECT ProductionID, TransformationID FROM ProductionTransformations WHERE ProductionID IN ("
                    + marks
                    + ")",
                    args=ids,
                )
            ):
                members[int(pid)].add(int(tid))
        return members

    def failed_jobs(self, transformation_ids: Collection[int], since: datetime | None) -> list[int]:
        cut = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if since is not None else None
        cond = {"JobGroup": [job_group(tid) for tid in sorted(transformation_ids)], "Status": list(FAILED_STATUSES)}
        return [int(jid) for jid in self._call(self._jm.getJobs(cond, cut))]

    def job_attributes(self, job_ids: Collection[int]) -> dict[int, dict[str, Any]]:
        ordered = sorted(job_ids)
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ordered), 5000):
            value = self._call(self._jm.getJobsSummary(ordered[start : start + 5000]))
            found.update({int(jid): attrs for jid, attrs in value.items()})
        return found

    def tasks_of_jobs(self, transformation_ids: Collection[int], job_ids: Collection[int]) -> list[dict[str, Any]]:
        cond = {"TransformationID": sorted(transformation_ids), "ExternalID": [str(j) for j in sorted(job_ids)]}
        return self._call(self._tc.getTransformationTasks(condDict=cond, inputVector=True))

    def files(self, transformation_ids: Collection[int], lfns: Collection[str]) -> list[dict[str, Any]]:
        cond = {"TransformationID": sorted(transformation_ids), "LFN": sorted(lfns)}
        calls = max(1, -(-len(cond["LFN"]) // 1000))
        return self._call(
            self._tc.getTransformationFiles(
                condDict=cond, columns=["TransformationID", "LFN", "Status", "ErrorCount", "TaskID", "FileID"]
            ),
            calls,
        )

    def file_counts(self, transformation_ids: Collection[int]) -> dict[int, dict[str, int]]:
        rows = self._call(
            self._tc.getCounters(
                "TransformationFiles", ["TransformationID", "Status"], {"TransformationID": sorted(transformation_ids)}
            )
        )
        counts: dict[int, dict[str, int]] = {int(t): {} for t in transformation_ids}
        for attrs, count in rows:
            counts.setdefault(int(attrs["TransformationID"]), {})[str(attrs["Status"])] = int(count)
        return counts

    def files_max_reset_counter(self) -> int:
        return int(self._ops.getValue("Transformations/FilesMaxResetCounter", 10))

    def input_limits(self, ids: Collection[int]) -> dict[int, int | None]:
        from CTAODIRAC.Core.JobSide import config_in_body

        missing = sorted(set(ids) - set(self._limits))
        if missing:
            rows = self._call(
                self._tc.getTransformations(
                    condDict={"TransformationID": missing}, columns=["TransformationID", "Body"]
                )
            )
            for row in rows:
                config = config_in_body(str(row.get("Body") or ""))
                self._limits[int(row["TransformationID"])] = config.input_limit if config is not None else None
        return {tid: self._limits.get(tid) for tid in ids}

    def meta_queries(self, ids: Collection[int]) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
        """Two RPCs per transformation new to the agent (DIRAC reads one query of one transformation per call),
        up to :data:`~CTAODIRAC.TransformationSystem.Utilities.FailureActions.PARALLEL_RPCS` at once."""
        from concurrent.futures import ThreadPoolExecutor

        from CTAODIRAC.TransformationSystem.Utilities.FailureActions import PARALLEL_RPCS

        missing = [(tid, kind) for tid in sorted(set(ids) - set(self._queries)) for kind in ("Input", "Output")]
        if missing:
            with ThreadPoolExecutor(max_workers=min(PARALLEL_RPCS, len(missing))) as pool:
                answers = list(pool.map(lambda pair: self._meta_query(*pair), missing))
            self.rpcs += len(missing)
            found = dict(zip(missing, answers))
            for tid in sorted({tid for tid, _ in missing}):
                self._queries[tid] = (found[(tid, "Input")], found[(tid, "Output")])
        return {tid: self._queries[tid] for tid in ids}

    def _meta_query(self, tid: int, kind: str) -> dict[str, Any]:
        import errno

        from DIRAC.Core.Utilities import DErrno
        from DIRAC.Core.Utilities.ReturnValues import returnValueOrRaise

        res = self._tc.getTransformationMetaQuery(tid, kind)
        # no query stored: DIRAC answers ENOENT; anything else is an error of the cycle
        if not res["OK"] and not DErrno.cmpError(res, errno.ENOENT):
            returnValueOrRaise(res)
        return dict(res["Value"]) if res["OK"] and res["Value"] else {}

    def unused_files(self, ids: Collection[int]) -> dict[int, list[str]]:
        rows = self._call(
            self._tc.getTransformationFiles(
                condDict={"TransformationID": sorted(ids), "Status": "Unused"}, columns=["TransformationID", "LFN"]
            )
        )
        found: dict[int, list[str]] = {int(tid): [] for tid in ids}
        for row in rows:
            found.setdefault(int(row["TransformationID"]), []).append(str(row["LFN"]))
        return found

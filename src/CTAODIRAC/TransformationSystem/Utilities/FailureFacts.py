"""The DIRAC side of the failure agent's fact gathering: :class:`DiracSources`, the real
:class:`~CTAODIRAC.Core.Failures.gather.Sources` over DIRAC's clients. The gathering itself is pure and lives in
:mod:`CTAODIRAC.Core.Failures.gather` (re-exported here)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
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
    "decode_meta_query",
    "task_buckets",
    "Gathered",
    "Records",
    "Sources",
    "gather",
    "job_group",
    "parse_time",
]


#: A bucket of :func:`task_buckets` may read at most this many times the rows it needs.
BUCKET_WASTE = 2.0

#: Most task IDs in the ``IN (...)`` of one bucket.
BUCKET_TASKS = 2000


def task_buckets(tasks: Mapping[int, Collection[int]]) -> list[tuple[list[int], list[int]]]:
    """Transformations and task IDs grouped into ``(transformation IDs, task IDs)`` conditions, each read with one
    query ``TransformationID IN (...) AND TaskID IN (...)``.

    Such a query also selects each transformation's rows for the other transformations' task IDs (a cross
    product): a transformation joins a bucket only while the bucket reads at most :data:`BUCKET_WASTE` times
    the rows it needs (and has at most :data:`BUCKET_TASKS` task IDs). Transformations with the same or
    similar task IDs (e.g. the first tasks of new transformations) are next to each other, so they share one.
    """
    ordered = sorted((sorted({int(t) for t in ids}), int(tid)) for tid, ids in tasks.items() if ids)
    buckets: list[tuple[list[int], list[int]]] = []
    tids: list[int] = []
    union: set[int] = set()
    needed = 0
    for task_ids, tid in ordered:
        merged = union | set(task_ids)
        fits = (len(tids) + 1) * len(merged) <= BUCKET_WASTE * (needed + len(task_ids)) and len(merged) <= BUCKET_TASKS
        if tids and not fits:
            buckets.append((sorted(tids), sorted(union)))
            tids, merged, needed = [], set(task_ids), 0
        tids.append(tid)
        union = merged
        needed += len(task_ids)
    if tids:
        buckets.append((sorted(tids), sorted(union)))
    return buckets


def decode_meta_query(rows: Iterable[tuple[str, Any, str]]) -> dict[str, Any]:
    """A meta-query from its stored rows ``(MetaDataName, MetaDataValue, MetaDataType)``, as DIRAC's
    ``TransformationDB.getTransformationMetaQuery`` reads it: a value holding ``;;;`` is a list (of ints for the
    type ``Integer``), otherwise ``Integer`` is an int and ``Dict`` a literal read with DIRAC's ``saferEval``.
    No rows: an empty dict (DIRAC answers ENOENT). Raises ``SErrorException`` on a value DIRAC could not read."""
    from DIRAC.Core.Utilities.ReturnValues import SErrorException
    from DIRAC.Core.Utilities.SaferEval import saferEval

    query: dict[str, Any] = {}
    for name, raw, kind in rows:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        try:
            if ";;;" in text:
                value: Any = [int(part) for part in text.split(";;;")] if kind == "Integer" else text.split(";;;")
            elif kind == "Integer":
                value = int(text)
            elif kind == "Dict":
                value = saferEval(text)
            else:
                value = text
        except ValueError as exc:
            raise SErrorException(f"meta-query value of {name!r} cannot be read: {exc}") from exc
        query[name] = value
    return query


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
        """The tasks by ExternalID (one RPC, without input vectors: DIRAC's ``inputVector=True`` reads each task's
        vector with a query of its own on the server), then their input vectors in bulk (:meth:`input_vectors`)."""
        cond = {"TransformationID": sorted(transformation_ids), "ExternalID": [str(j) for j in sorted(job_ids)]}
        rows = self._call(self._tc.getTransformationTasks(condDict=cond, inputVector=False))
        wanted: dict[int, set[int]] = {}
        for row in rows:
            wanted.setdefault(int(row["TransformationID"]), set()).add(int(row["TaskID"]))
        vectors = self.input_vectors(wanted) if wanted else {}
        return [
            {**row, "InputVector": vectors.get((int(row["TransformationID"]), int(row["TaskID"])), "")} for row in rows
        ]

    def input_vectors(self, tasks: Mapping[int, Collection[int]]) -> dict[tuple[int, int], str]:
        """``(transformation, task)`` to the task's input vector (DIRAC's ``;``-joined LFNs; tasks without one are
        left out), read from DIRAC's ``TaskInputs`` table with its generic ``getCounters`` (each row is its own
        group: ``(TransformationID, TaskID)`` is the table's key), one query per :func:`task_buckets` bucket, up to
        ``PARALLEL_RPCS`` at once."""
        from CTAODIRAC.TransformationSystem.Utilities.FailureActions import PARALLEL_RPCS

        buckets = task_buckets(tasks)

        def read(bucket: tuple[list[int], list[int]]) -> list[Any]:
            tids, task_ids = bucket
            return self._tc.getCounters(
                "TaskInputs", ["TransformationID", "TaskID", "InputVector"],
                {"TransformationID": tids, "TaskID": task_ids},
            )  # fmt: skip

        with ThreadPoolExecutor(max_workers=max(1, min(PARALLEL_RPCS, len(buckets)))) as pool:
            answers = list(pool.map(read, buckets))
        found: dict[tuple[int, int], str] = {}
        for answer in answers:
            for attrs, _ in self._call(answer):
                key = (int(attrs["TransformationID"]), int(attrs["TaskID"]))
                if key[1] in tasks.get(key[0], ()) and attrs.get("InputVector"):
                    found[key] = str(attrs["InputVector"])
        return found

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
        """The stored (input, output) meta-queries of the transformations new to the agent: one RPC for up to
        1,000 of them (DIRAC's generic ``getCounters`` on its ``TransformationMetaQueries`` table, whose key
        ``(TransformationID, MetaDataName, QueryType)`` makes each row its own group), decoded as DIRAC's
        ``getTransformationMetaQuery`` decodes them (:func:`decode_meta_query`)."""
        missing = sorted(set(ids) - set(self._queries))
        for start in range(0, len(missing), 1000):
            chunk = missing[start : start + 1000]
            rows = self._call(
                self._tc.getCounters(
                    "TransformationMetaQueries",
                    ["TransformationID", "QueryType", "MetaDataName", "MetaDataValue", "MetaDataType"],
                    {"TransformationID": chunk},
                )
            )
            stored: dict[tuple[int, str], list[tuple[str, Any, str]]] = {}
            for attrs, _ in rows:
                stored.setdefault((int(attrs["TransformationID"]), str(attrs["QueryType"])), []).append(
                    (str(attrs["MetaDataName"]), attrs["MetaDataValue"], str(attrs["MetaDataType"]))
                )
            for tid in chunk:
                self._queries[tid] = (
                    decode_meta_query(stored.get((tid, "Input"), ())),
                    decode_meta_query(stored.get((tid, "Output"), ())),
                )
        return {tid: self._queries[tid] for tid in ids}

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

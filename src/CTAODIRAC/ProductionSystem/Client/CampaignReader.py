"""Read what DIRAC holds about a set of productions into a campaign report's data
(:class:`CTAODIRAC.Core.Report.data.CampaignData`): the productions and their transformations (statuses, files by
status, failed tasks, parent and model links from the stored queries and job configurations), every task's job
with its phases (DIRAC's logging records) and pilot, the failure agent's decisions, the registered outputs.

The DIRAC edge of the report (docs/campaign-report.md); the rest is pure (``CTAODIRAC.Core.Report``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from DIRAC.Core.Utilities.ReturnValues import SErrorException, returnValueOrRaise

from CTAODIRAC.Core.errors import CTAODIRACError
from CTAODIRAC.Core.Failures.links import feeds, implicit_parents
from CTAODIRAC.Core.JobSide import config_in_body
from CTAODIRAC.Core.Production.submission import registered_query
from CTAODIRAC.Core.Report.data import CampaignData, Event, Job, Production, Transformation, job_from_phases
from CTAODIRAC.Core.Report.timing import epoch, job_phases

__all__ = ["CampaignReader", "CampaignReadError", "PARALLEL_RPCS"]

#: RPCs in flight at once when reading per job or per transformation.
PARALLEL_RPCS = 8
#: Decisions read at most (the service's own limit).
MAX_DECISIONS = 100_000
#: Pilot references that name no pilot.
NO_PILOT = ("", "Unknown", "None")


class CampaignReadError(CTAODIRACError):
    """DIRAC could not tell something the report needs (e.g. an unknown production)."""


def _value(result: dict[str, Any], what: str) -> Any:
    try:
        return returnValueOrRaise(result)
    except SErrorException as exc:
        raise CampaignReadError(f"{what}: {exc}") from exc


class CampaignReader:
    """Reads productions from DIRAC (needs a proxy that may read them: a production manager's).

    ``pilots``: ``{job: pilot}`` known otherwise (the local campaign reads them from its pilots' logs); the
    others come from the job parameter ``Pilot_Reference``."""

    def __init__(self, say: Callable[[str], None] = lambda _msg: None, pilots: dict[int, str] | None = None,
                 read_outputs: bool = True) -> None:
        from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
        from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
        from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

        self.productions = ProductionClient()
        self.transformations = TransformationClient()
        self.monitoring = JobMonitoringClient()
        self.say = say
        self.pilots = dict(pilots or {})
        self.read_outputs = read_outputs

    # -- productions and transformations ----------------------------------------------------------------------
    def read(self, productions: Sequence[str | int], title: str = "") -> CampaignData:
        prods: list[Production] = []
        for name in productions:
            key: str | int = int(name) if str(name).isdigit() else str(name)
            row = _value(self.productions.getProduction(key), f"production {name}")
            rows = _value(self.productions.getProductionTransformations(key), f"transformations of production {name}")
            prods.append(Production(str(row["ProductionName"]), str(row["Status"]), int(row["ProductionID"]),
                                    sorted(int(r["TransformationID"]) for r in rows)))  # fmt: skip
        data = CampaignData(title or ", ".join(p.name for p in prods), productions=prods)
        owner = {tid: p.name for p in prods for tid in p.transformations}
        ids = sorted(owner)
        self.say(f"{len(prods)} productions, {len(ids)} transformations")
        if not ids:
            return data
        data.transformations = self._transformations(ids, owner)
        data.jobs = self._jobs(ids)
        by_id = {t.id: t for t in data.transformations}
        for job in data.jobs:
            if job.status == "Failed" and job.transformation in by_id:
                by_id[job.transformation].failed_jobs += 1
        data.events = self._decisions(ids, {t.id: t for t in data.transformations})
        for t in data.transformations:
            if t.kind.startswith("ctapipe-train"):
                data.models += t.outputs
        children = {p for t in data.transformations for p in t.parents}
        data.dl2 = sorted(lfn for t in data.transformations if t.kind == "ctapipe-apply-models" and t.id not in children
                          for lfn in t.outputs)  # fmt: skip
        data.models.sort()
        return data

    def _transformations(self, ids: list[int], owner: dict[int, str]) -> list[Transformation]:
        tc = self.transformations
        rows = _value(tc.getTransformations({"TransformationID": ids}), "transformations")
        queries = dict(zip(ids, self._parallel(self._queries, ids)))
        parents = implicit_parents(queries)
        counts = _value(tc.getCounters("TransformationFiles", ["TransformationID", "Status"],
                                       {"TransformationID": ids}), "file counts")
        files: dict[int, dict[str, int]] = {}
        for attrs, n in counts:
            by = files.setdefault(int(attrs["TransformationID"]), {})
            by[str(attrs["Status"])] = by.get(str(attrs["Status"]), 0) + int(n)
        found = []
        for row in sorted(rows, key=lambda r: int(r["TransformationID"])):
            tid = int(row["TransformationID"])
            config = config_in_body(str(row.get("Body") or ""))
            models = []
            if config is not None:
                for query in config.models.values():
                    models += [p for p, (_, out) in queries.items() if p != tid and feeds(out, query)]
            found.append(Transformation(
                tid, str(row["TransformationName"]), owner.get(tid, ""), str(row["Status"]), str(row.get("Type", "")),
                config.kind if config else "", files.get(tid, {}), 0, 0,
                sorted(parents.get(tid, set()) - set(models)), sorted(set(models))))  # fmt: skip
        if self.read_outputs:
            configs = {int(r["TransformationID"]): config_in_body(str(r.get("Body") or "")) for r in rows}
            wanted = [t for t in found if configs.get(t.id) is not None and t.kind.startswith(("ctapipe-train",
                                                                                                  "ctapipe-apply"))]
            for t, outputs in zip(wanted, self._parallel(lambda t: self._outputs(configs[t.id]), wanted)):
                t.outputs = outputs
        return found

    def _queries(self, tid: int) -> tuple[dict[str, Any], dict[str, Any]]:
        def one(kind: str) -> dict[str, Any]:
            res = self.transformations.getTransformationMetaQuery(tid, kind)
            return dict(res["Value"]) if res["OK"] and res["Value"] else {}  # no query stored: none

        return one("Input"), one("Output")

    @staticmethod
    def _outputs(config: Any) -> list[str]:
        from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata

        query = registered_query(config.output_metadata)
        return CatalogMetadata().find_files(query, path=config.output_dir) if query else []

    # -- jobs -------------------------------------------------------------------------------------------------
    def _jobs(self, ids: list[int]) -> list[Job]:
        tasks = _value(self.transformations.getTransformationTasks({"TransformationID": ids}), "tasks")
        tasks = [t for t in tasks if int(t.get("ExternalID") or 0) > 0]
        job_ids = [int(t["ExternalID"]) for t in tasks]
        self.say(f"{len(job_ids)} jobs: reading their logging records")
        records = dict(zip(job_ids, self._parallel(self._logging, job_ids)))
        pilots = self._pilots([j for j in job_ids if j not in self.pilots])
        sites = self.monitoring.getJobsSites(job_ids) if job_ids else {"OK": True, "Value": {}}
        sites = sites["Value"] if sites["OK"] else {}
        # the jobs' own statuses (a task's ExternalStatus is only updated when the WorkflowTaskAgent monitors tasks)
        statuses = self.monitoring.getJobsStatus(job_ids) if job_ids else {"OK": True, "Value": {}}
        statuses = statuses["Value"] if statuses["OK"] else {}
        jobs = []
        for task in tasks:
            job = int(task["ExternalID"])
            created = task["CreationTime"]
            if created is not None and not isinstance(created, datetime):
                created = datetime.fromisoformat(str(created))
            phases = job_phases(created, records.get(job) or [])
            status = str((statuses.get(job) or {}).get("Status") or task.get("ExternalStatus") or "")
            site = str((sites.get(job) or {}).get("Site") or "")
            jobs.append(job_from_phases(job, int(task["TransformationID"]), int(task["TaskID"]), phases, status,
                                        self.pilots.get(job) or pilots.get(job, ""), site))  # fmt: skip
        return jobs

    def _logging(self, job: int) -> list[tuple]:
        res = self.monitoring.getJobLoggingInfo(job)
        return list(res["Value"]) if res["OK"] else []

    def _pilots(self, job_ids: list[int]) -> dict[int, str]:
        """``{job: pilot reference}`` from the job parameter ``Pilot_Reference`` (in OpenSearch; none when
        unreadable)."""
        found: dict[int, str] = {}
        for start in range(0, len(job_ids), 500):
            res = self.monitoring.getJobParameters(job_ids[start:start + 500], ["Pilot_Reference"])
            if not res["OK"]:
                self.say(f"note: pilots unknown ({res['Message']})")
                return found
            for job, params in res["Value"].items():
                ref = str((params or {}).get("Pilot_Reference") or "")
                if ref not in NO_PILOT:
                    found[int(job)] = ref
        return found

    # -- the failure agent's decisions ----------------------------------------------------------------------
    def _decisions(self, ids: list[int], by_id: dict[int, Transformation]) -> list[Event]:
        from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient

        res = FailureManagementClient().getDecisions({"TransformationID": ids}, MAX_DECISIONS)
        if not res["OK"]:
            self.say(f"note: the failure agent's decisions are not shown ({res['Message']})")
            return []
        events = []
        given_up: dict[int, set[str]] = {}
        for d in res["Value"]:
            when = d.get("CreationTime")
            when = when if isinstance(when, datetime) else datetime.fromisoformat(str(when)) if when else None
            detail = " ".join(str(x) for x in (d.get("Class"), f"job {d['JobID']}" if d.get("JobID") else "") if x)
            if when is not None:
                events.append(Event(float(epoch(when) or 0.0), "decision", str(d["Kind"]), detail))
            if d["Kind"] == "give-up" and d.get("State") == "Applied" and d.get("TransformationID") is not None:
                lfns = json.loads(d.get("FileChanges") or "{}").get("LFNs", [])
                given_up.setdefault(int(d["TransformationID"]), set()).update(lfns)
        for tid, lfns in given_up.items():
            if tid in by_id:
                by_id[tid].given_up = len(lfns)
        return sorted(events, key=lambda e: e.time)

    # -- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _parallel(call: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        items = list(items)
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(PARALLEL_RPCS, len(items))) as pool:
            return list(pool.map(call, items))

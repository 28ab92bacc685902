"""The Production Monitor's data and actions (WebAppDIRAC handler; docs/portal.md).

Routes ``/DIRAC/s:<setup>/g:<group>/ProductionMonitor/<method>``. Every call goes through DIRAC's clients with the
host certificate, WebAppDIRAC setting the browser user's DN and group for it: the services see the user, and
their own authorization decides (TransformationManager lets only ProductionManagement, or the author, change a
transformation). Whatever the number of productions and transformations, a page costs a fixed number of RPCs:
one ``getProductions``, one ``getTransformations`` (without bodies), one ``getCounters`` of files per
transformation and status, one ``getSummary`` of the failure agent's decisions. The Plots tab costs two RPCs per
plot: DIRAC's Monitoring service draws it from the failure agent's monitoring records (docs/monitoring.md), then
sends the PNG, which the handler serves to the page.
"""

# no `from __future__ import annotations`: WebAppDIRAC converts each argument with its annotation (a type)
import io
import re
import textwrap
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from DIRAC import S_OK, gLogger
from DIRAC.Core.Security import Properties
from DIRAC.Core.Tornado.Client.ClientSelector import TransferClientSelector as TransferClient
from DIRAC.MonitoringSystem.Client.MonitoringClient import MonitoringClient
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from WebAppDIRAC.Lib.WebHandler import FileResponse, WebHandler

from CTAODIRAC.Core.Monitoring.records import DECISIONS_TYPE, PROGRESS_TYPE
from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient

#: File statuses shown as columns (others are summed under "Other").
FILE_STATUSES = ("Unused", "Assigned", "Processed", "Problematic", "MaxReset", "Removed")
#: Files that count as done for the progress of a transformation (nothing left to do for them).
DONE_STATUSES = frozenset({"Processed", "Removed", "Processed-inherited", "Removed-inherited"})
#: Transformation columns read (no Body: the call then returns up to 100,000 rows at once).
TRANSFORMATION_COLUMNS = ["TransformationID", "TransformationName", "Type", "Status", "AgentType", "Plugin",
                          "GroupSize", "CreationDate", "LastUpdate"]  # fmt: skip
#: The production ID a transformation created by DIRAC's Production System carries in its name (``%08d_<step>``).
_PRODUCTION_PREFIX = re.compile(r"^(\d{8})_")
#: Actions of a production manager: (Status, AgentType) the transformation is set to, as DIRAC's own
#: Transformation Monitor does.
ACTIONS = {
    "start": ("Active", "Automatic"),
    "stop": ("Stopped", "Manual"),
    "flush": ("Flush", "Automatic"),
    "complete": ("Completed", "Manual"),
}
#: File statuses of files the failure agent gave up (or DIRAC after too many resets): "retry" sets them Unused.
GIVEN_UP_STATUSES = ["Problematic", "MaxReset"]
#: Decisions about a failed job (the Failed column and the failure plots); the others (avoid-site, flush, ...) are
#: what the agent did about a transformation.
FAILURE_ACTIONS = ("retry", "give-up", "leave")
#: Columns of a decision shown to the operator.
DECISION_FIELDS = ("DecisionID", "CreationTime", "JobID", "TaskID", "Kind", "Class", "Site", "NumFiles", "State",
                   "Rule", "Reason", "Result")  # fmt: skip

sLog = gLogger.getSubLogger("ProductionMonitor")


@dataclass(frozen=True)
class PlotSpec:
    """A plot of the Plots tab: a report of one of this extension's monitoring types (its plotter) grouped by a key
    field, with fixed conditions on key fields besides the production or transformation."""

    type_name: str
    report: str
    grouping: str
    title: str
    conditions: tuple[tuple[str, tuple[str, ...]], ...] = ()


#: The Plots tab, in its order.
PLOTS = {
    "progress": PlotSpec(PROGRESS_TYPE, "NumberOfFiles", "Status", "Files per status"),
    "classes": PlotSpec(DECISIONS_TYPE, "NumberOfDecisions", "Class", "Failures by class",
                        (("Action", FAILURE_ACTIONS),)),
    "sites": PlotSpec(DECISIONS_TYPE, "NumberOfDecisions", "Site", "Failures by site", (("Action", FAILURE_ACTIONS),)),
}  # fmt: skip
#: The periods a plot can cover, up to now.
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
#: The size DIRAC's plotters accept (they clamp width and height to it) and the size of an error image by default.
PLOT_SIZES = (200, 1600)
ERROR_SIZE = (800, 600)


def _value(result: dict[str, Any], what: str) -> Any:
    if not result["OK"]:
        raise RuntimeError(f"{what}: {result['Message']}")
    return result["Value"]


def production_of(name: str) -> int | None:
    match = _PRODUCTION_PREFIX.match(name or "")
    return int(match.group(1)) if match else None


def assemble(productions: list[dict[str, Any]], transformations: list[dict[str, Any]],
             counters: list[tuple[dict[str, Any], int]], summary: list[dict[str, Any]]) -> dict[str, Any]:
    """The page's rows from what the four calls returned (pure: no DIRAC call)."""
    files: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for attrs, count in counters:
        if attrs.get("TransformationID") is not None:
            files[int(attrs["TransformationID"])][attrs["Status"]] += int(count)
    failed: dict[int, int] = defaultdict(int)
    given_up: dict[int, int] = defaultdict(int)
    for row in summary:
        if row.get("TransformationID") is None:  # a decision about a production (e.g. complete-production)
            continue
        tid = int(row["TransformationID"])
        if row["Kind"] in FAILURE_ACTIONS:
            failed[tid] += int(row["Decisions"] or 0)
        if row["Kind"] == "give-up":
            given_up[tid] += int(row["Files"] or 0)
    rows = []
    for trans in transformations:
        tid = int(trans["TransformationID"])
        per_status = files.get(tid, {})
        total = sum(per_status.values())
        done = sum(n for status, n in per_status.items() if status in DONE_STATUSES)
        row = {
            "TransformationID": tid,
            "ProductionID": production_of(trans["TransformationName"]),
            "Name": trans["TransformationName"],
            "Type": trans["Type"],
            "Status": trans["Status"],
            "AgentType": trans["AgentType"],
            "Files": total,
            "Other": total - sum(per_status.get(s, 0) for s in FILE_STATUSES),
            "Progress": round(done / total, 4) if total else 0.0,
            "Failed": failed.get(tid, 0),
            "GivenUp": given_up.get(tid, 0),
            "LastUpdate": str(trans["LastUpdate"]),
        }
        row.update({s: per_status.get(s, 0) for s in FILE_STATUSES})
        rows.append(row)
    by_production: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["ProductionID"] is not None:
            by_production[row["ProductionID"]].append(row)
    prods = []
    for prod in productions:
        pid = int(prod["ProductionID"])
        children = by_production.get(pid, [])
        total = sum(r["Files"] for r in children)
        done = sum(round(r["Progress"] * r["Files"]) for r in children)
        prods.append({
            "ProductionID": pid,
            "Name": prod["ProductionName"],
            "Status": prod["Status"],
            "Author": prod.get("Author", ""),
            "CreationDate": str(prod.get("CreationDate", "")),
            "Transformations": len(children),
            "Files": total,
            "Processed": sum(r["Processed"] for r in children),
            "Progress": round(done / total, 4) if total else 0.0,
            "Failed": sum(r["Failed"] for r in children),
            "GivenUp": sum(r["GivenUp"] for r in children),
        })  # fmt: skip
    prods.sort(key=lambda p: -p["ProductionID"])
    rows.sort(key=lambda r: -r["TransformationID"])
    return {"productions": prods, "transformations": rows}


def _clamp(size: int) -> int:
    return min(PLOT_SIZES[1], max(PLOT_SIZES[0], int(size)))


def plot_request(plot: str, production: str, transformation: str, period: str, now: datetime,
                 width: int = 0, height: int = 0) -> dict[str, Any]:
    """The request of a plot of the Plots tab to DIRAC's Monitoring service (``generatePlot``; also the arguments of
    ``MonitoringClient.generateDelayedPlot``). Pure: no DIRAC call.

    The plot covers ``transformation`` when given, else ``production``, else everything the records hold, over
    ``period`` up to ``now`` (UTC). Raises ValueError for an unknown plot or period or a non-numeric ID.
    """
    if plot not in PLOTS:
        raise ValueError(f"unknown plot {plot!r} (one of {', '.join(PLOTS)})")
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r} (one of {', '.join(PERIODS)})")
    spec = PLOTS[plot]
    conditions: dict[str, list[str]] = {field: list(values) for field, values in spec.conditions}
    if str(transformation or "").strip():
        conditions["Transformation"] = [str(int(transformation))]
        scope = f"transformation {int(transformation)}"
    elif str(production or "").strip():
        conditions["Production"] = [str(int(production))]
        scope = f"production {int(production)}"
    else:
        scope = "all productions"
    conditions["grouping"] = [spec.grouping]
    extra: dict[str, Any] = {"plotTitle": f"{spec.title}, {scope}"}
    if width and height:
        extra.update(width=_clamp(width), height=_clamp(height))
    return {
        "typeName": spec.type_name,
        "reportName": spec.report,
        "startTime": now - PERIODS[period],
        "endTime": now,
        "condDict": conditions,
        "grouping": spec.grouping,
        "extraArgs": extra,
    }


def error_image(message: str, width: int = 0, height: int = 0) -> bytes:
    """A PNG of ``message`` (wrapped to the width), drawn as DIRAC's Monitoring service draws its own errors."""
    from DIRAC.Core.Utilities.Graphs import textGraph

    width, height = width or ERROR_SIZE[0], height or ERROR_SIZE[1]
    lines = textwrap.wrap(" ".join(message.split()), max(30, width // 7))
    buffer = io.BytesIO()
    textGraph("\n".join(lines[: max(3, height // 20)]), buffer, {"width": width, "height": height})
    return buffer.getvalue()


class ProductionMonitorHandler(WebHandler):
    """Productions, their transformations and the failure agent's decisions; actions for production managers."""

    DEFAULT_AUTHORIZATION = "authenticated"

    def web_getData(self) -> dict[str, Any]:
        """Every production and transformation with its files per status and failure counts (4 RPCs)."""
        t0 = time.monotonic()
        try:
            productions = _value(ProductionClient().getProductions(limit=100_000), "getProductions")
            transformations = _value(
                TransformationClient().getTransformations(columns=TRANSFORMATION_COLUMNS), "getTransformations"
            )
            counters = _value(
                TransformationClient().getCounters("TransformationFiles", ["TransformationID", "Status"], {}),
                "getCounters",
            )
            summary = _value(FailureManagementClient().getSummary({}), "getSummary")
        except RuntimeError as exc:
            return {"success": "false", "error": str(exc)}
        data = assemble(productions, transformations, counters, summary)
        seconds = time.monotonic() - t0
        sLog.info("getData", f"{len(data['transformations'])} transformations in {seconds:.3f} s")
        return {"success": "true", "canAct": self._can_act(), "seconds": round(seconds, 3), **data}

    def web_getDecisions(self, transformationID: int, limit: int = 200) -> dict[str, Any]:
        """The failure agent's latest decisions about one transformation and the sites its files must avoid
        (2 RPCs)."""
        client = FailureManagementClient()
        try:
            tid = int(transformationID)
            decisions = _value(client.getDecisions({"TransformationID": [tid]}, int(limit)), "getDecisions")
            bans = _value(client.getSiteBans(tid), "getSiteBans")
        except (RuntimeError, ValueError) as exc:
            return {"success": "false", "error": str(exc)}
        rows = [{f: (str(d.get(f)) if f == "CreationTime" else d.get(f)) for f in DECISION_FIELDS} for d in decisions]
        by_site: dict[str, list[str]] = defaultdict(list)
        for lfn, sites in bans.items():
            for site in sites:
                by_site[site].append(lfn)
        banned = [{"Site": site, "Files": len(lfns), "LFNs": ", ".join(sorted(lfns)[:20])}
                  for site, lfns in sorted(by_site.items())]  # fmt: skip
        return {"success": "true", "decisions": rows, "bans": banned}

    def web_getPlot(self, plot: str, productionID: str = "", transformationID: str = "", period: str = "day",
                    width: int = 0, height: int = 0) -> Any:
        """A plot of the Plots tab as a PNG (2 RPCs: DIRAC's Monitoring service draws it from the monitoring records,
        then sends the file). When it cannot (OpenSearch down, the service unreachable), the answer is 503 with a
        PNG of the reason (and the header X-Plot-Error), which the page shows in the plot's place."""
        t0 = time.monotonic()
        try:
            request = plot_request(plot, productionID, transformationID, period, datetime.utcnow(), width, height)
        except ValueError as exc:
            return {"success": "false", "error": str(exc)}
        # generatePlot, not generateDelayedPlot's file ID: the service's transfer of a plot it could not draw sends
        # an image of the error and still ends OK, so its errors would not reach this handler
        result = MonitoringClient().generatePlot(request)  # DIRAC's Client makes the RPC of any method name
        image = b""
        if result["OK"]:
            buffer = io.BytesIO()
            result = TransferClient("Monitoring/Monitoring").receiveFile(buffer, result["Value"]["plot"])
            image = buffer.getvalue()
        seconds = time.monotonic() - t0
        if result["OK"] and image:
            sLog.verbose("getPlot", f"{plot}: {len(image)} bytes in {seconds:.3f} s")
            return FileResponse(image, f"{plot}.png", ext="png", cache=False)
        error = " ".join(str(result.get("Message") or "the Monitoring service sent an empty file").split())
        sLog.warn("getPlot", f"{plot}: {error} ({seconds:.3f} s)")
        extra = request["extraArgs"]
        response = FileResponse(error_image(f"{extra['plotTitle']}: {error}", extra.get("width", 0),
                                            extra.get("height", 0)), f"{plot}.png", ext="png", cache=False)  # fmt: skip
        response.status_code = 503
        response.set_header("X-Plot-Error", error[:300].encode("ascii", "replace").decode())
        return response

    def web_action(self, action: str, transformationID: int) -> dict[str, Any]:
        """Set a transformation's status as a production manager would; DIRAC's TransformationManager decides
        whether this user may."""
        client = TransformationClient()
        tid = int(transformationID)
        if action == "retry":
            result, message = self._retry_given_up(client, tid)
        elif action in ACTIONS:
            status, agent_type = ACTIONS[action]
            result = client.setTransformationParameter(tid, "Status", status)
            if result["OK"]:
                result = client.setTransformationParameter(tid, "AgentType", agent_type)
            message = f"transformation {tid}: {status} ({agent_type})"
        else:
            return {"success": "false", "error": f"unknown action {action!r} (one of {', '.join(ACTIONS)}, retry)"}
        sLog.notice(f"{self.getUserName()}@{self.getUserGroup()}: {action} transformation {tid}",
                    "done" if result["OK"] else result["Message"])  # fmt: skip
        if not result["OK"]:
            return {"success": "false", "error": result["Message"]}
        return {"success": "true", "message": message}

    @staticmethod
    def _retry_given_up(client: TransformationClient, tid: int) -> tuple[dict[str, Any], str]:
        """Set the given-up files of a transformation (Problematic, MaxReset) back to Unused: 2 RPCs, and 1 more in
        DIRAC's client. ``force``: DIRAC's client never lets MaxReset go back to Unused by itself; the service still
        checks the user's rights."""
        result = client.getTransformationFiles({"TransformationID": tid, "Status": GIVEN_UP_STATUSES},
                                               columns=["LFN", "Status"])  # fmt: skip
        if not result["OK"]:
            return result, ""
        lfns = [row["LFN"] for row in result["Value"]]
        if not lfns:
            return S_OK({}), f"transformation {tid}: no given-up file"
        result = client.setFileStatusForTransformation(tid, dict.fromkeys(lfns, "Unused"), force=True)
        return result, f"transformation {tid}: {len(lfns)} given-up file(s) set Unused"

    def _can_act(self) -> bool:
        """Whether to show the actions (the services decide anyway)."""
        return Properties.PRODUCTION_MANAGEMENT in (self.getProperties() or [])

"""DIRAC's task-manager plugins, plus the failure agent's site bans.

DIRAC's WorkflowTaskAgent asks a task-manager plugin where each new task may run. Pointing its
``PluginLocation`` option at this module keeps every destination plugin of DIRAC (``BySE``, ``ByJobType``...,
chosen as before by ``Operations/<VO>/Transformations/DestinationPlugin``) and adds one thing: a task whose input
files the failure agent decided to keep away from a site (``FMSiteBans``) gets that site in its job's
``BannedSites`` (beside the sites the step itself bans: a task's ``BannedSites`` replaces the job template's, so
the template's are read and kept), and loses it from an explicit destination list; when that leaves no site
(``BySE`` sends a task to the site of the one SE the TransformationAgent chose) and its files have copies at
another site, the task goes there (one catalog call, only in that case). Bans that would leave the task
no site to run at (the step's ``sites`` and ``banned_sites`` counted) are not applied. Our
``TransformationSystem/ConfigTemplate.cfg`` sets the option; see docs/failure-management.md, "Site avoidance".

The bans are read through the FailureManagement service (one call per transformation, cached for
``CACHE_SECONDS``); the job template's banned sites are read, only for a transformation with bans, from its
body (``getTransformationParameters``, cached alike). If the service cannot be reached, tasks are submitted
without bans and a warning is logged:
a ban only steers work away from a site, losing it never loses a file.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from DIRAC import gLogger
from DIRAC.ConfigurationSystem.Client.Helpers.Resources import getSites
from DIRAC.TransformationSystem.Client.TaskManagerPlugin import TaskManagerPlugin as DIRACTaskManagerPlugin

from CTAODIRAC.Core.Failures.bans import apply_site_bans, task_lfns

__all__ = ["CACHE_SECONDS", "SiteBanCache", "TaskManagerPlugin"]

#: How long the bans of one transformation are reused before they are read again.
CACHE_SECONDS = 60.0


class SiteBanCache:
    """``{lfn: sites}`` per transformation, read with ``getSiteBans`` and kept ``ttl`` seconds."""

    def __init__(self, ttl: float = CACHE_SECONDS, client_factory: Any = None) -> None:
        self.ttl = ttl
        self._client_factory = client_factory
        self._entries: dict[int, tuple[float, dict[str, list[str]]]] = {}
        self._lock = threading.Lock()

    def _client(self) -> Any:
        if self._client_factory is not None:
            return self._client_factory()
        from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient

        return FailureManagementClient()

    def bans(self, transformation_id: int) -> dict[str, list[str]] | None:
        """The bans of a transformation, or None when they cannot be read (the caller then applies none)."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(transformation_id)
            if entry and now - entry[0] < self.ttl:
                return entry[1]
        result = self._client().getSiteBans(transformation_id)
        if not result["OK"]:
            gLogger.warn(
                "CTAODIRAC: site bans not applied, cannot read them",
                f"transformation {transformation_id}: {result['Message']}",
            )
            return None
        value = {str(lfn): [str(s) for s in sites] for lfn, sites in result["Value"].items()}
        with self._lock:
            self._entries[transformation_id] = (now, value)
        return value


class TemplateBannedSites:
    """The ``BannedSites`` of each transformation's job template (its body), kept ``ttl`` seconds."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[int, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def sites(self, transformation_id: int) -> list[str] | None:
        """The template's banned sites, or None when the body cannot be read."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(transformation_id)
            if entry and now - entry[0] < self.ttl:
                return entry[1]
        from DIRAC.Interfaces.API.Job import Job
        from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

        result = TransformationClient().getTransformationParameters(transformation_id, "Body")
        if not result["OK"]:
            gLogger.warn("CTAODIRAC: site bans not applied, cannot read the job template",
                         f"transformation {transformation_id}: {result['Message']}")
            return None
        parameter = Job(result["Value"]).workflow.findParameter("BannedSites")
        value = _site_list(parameter.getValue() if parameter is not None else "")
        with self._lock:
            self._entries[transformation_id] = (now, value)
        return value


def _site_list(value: Any) -> list[str]:
    """Sites of a JDL value: ``A;B``, a list, or ``ANY``/empty (no site named)."""
    items = value if isinstance(value, (list, tuple, set)) else str(value or "").replace(",", ";").split(";")
    return [s.strip() for s in items if s and s.strip() and s.strip().upper() != "ANY"]


#: Shared by every plugin object of the process: the WorkflowTaskAgent makes one per task manager and thread.
_CACHE = SiteBanCache()
_TEMPLATES = TemplateBannedSites()
#: DIRAC 9.1's DMSHelpers (which DIRAC's ``BySE`` plugin uses) is a per-VO singleton whose first ``__init__`` marks
#: it initialised before it makes its method caches: another thread calling it meanwhile fails with
#: "'DMSHelpers' object has no attribute '_getLocalSitesForSE_cache'", and the WorkflowTaskAgent leaves that task
#: Reserved (DIRAC's CheckReserved looks at it after an hour). Seen in the first cycle of a WorkflowTaskAgent
#: restarted mid-campaign, with several transformations' threads submitting at once. The plugins of a process
#: make it one at a time, so that none uses it half made.
_DMS_HELPERS = threading.Lock()


def _dms_helpers_made() -> None:
    from DIRAC.DataManagementSystem.Utilities.DMSHelpers import DMSHelpers

    with _DMS_HELPERS:
        DMSHelpers()


class TaskManagerPlugin(DIRACTaskManagerPlugin):
    """DIRAC's TaskManagerPlugin whose ``run`` also applies the failure agent's site bans."""

    cache: SiteBanCache = _CACHE
    templates: TemplateBannedSites = _TEMPLATES

    def run(self) -> Any:
        _dms_helpers_made()
        destinations = super().run()
        if not isinstance(destinations, set):  # S_ERROR from an unknown plugin name: DIRAC's handling as before
            return destinations
        try:
            transformation_id = int(self.params.get("TransformationID") or 0)
        except (TypeError, ValueError):
            return destinations
        lfns = task_lfns(self.params.get("InputData"))
        if not transformation_id or not lfns:
            return destinations
        bans = self.cache.bans(transformation_id)
        if not bans:
            return destinations
        task = f"transformation {transformation_id} task {self.params.get('TaskID')}"
        step_banned = self.templates.sites(transformation_id)
        if step_banned is None:  # applying ours alone would drop the step's own: apply none (logged when read)
            return destinations
        # "Site" holds the job template's destination, which DIRAC intersects with ours afterwards
        outcome = apply_site_bans(destinations, lfns, bans, self._all_sites(),
                                  step_sites=_site_list(self.params.get("Site")), step_banned=step_banned,
                                  data_sites=lambda: self._data_sites(lfns))
        if outcome.unsatisfiable:
            gLogger.warn(
                "CTAODIRAC: site bans not applied, they exclude every destination",
                f"{task}: banned {', '.join(outcome.unsatisfiable)}; "
                f"destinations {', '.join(sorted(destinations)) or 'any site'}; "
                f"step sites {self.params.get('Site') or 'any'}, step bans {';'.join(step_banned) or 'none'}",
            )
            return destinations
        if outcome.banned:
            # WorkflowTasks adds every other task parameter to the job's JDL (_handleRest): the matcher honours it
            self.params["BannedSites"] = ";".join(outcome.banned)
            gLogger.info("CTAODIRAC: task keeps away from", f"{', '.join(outcome.banned)} ({task})")
        return set(outcome.destinations)

    @staticmethod
    def _data_sites(lfns: list[str]) -> list[str]:
        """The sites holding a copy of every one of ``lfns`` (the catalog's replicas, DIRAC's SE-to-site
        mapping); empty if they cannot be read."""
        from DIRAC.DataManagementSystem.Utilities.DMSHelpers import DMSHelpers
        from DIRAC.Resources.Catalog.FileCatalog import FileCatalog

        res = FileCatalog().getReplicas(lfns)
        if not res["OK"] or res["Value"]["Failed"]:
            gLogger.warn("CTAODIRAC: cannot read the replicas of a task's files",
                         res.get("Message") or str(res["Value"]["Failed"]))
            return []
        helpers = DMSHelpers()
        common: set[str] | None = None
        for replicas in res["Value"]["Successful"].values():
            sites: set[str] = set()
            for se in replicas:
                found = helpers.getLocalSiteForSE(se)
                if found["OK"] and found["Value"]:
                    sites.add(found["Value"])
            common = sites if common is None else common & sites
        return sorted(common or [])

    @staticmethod
    def _all_sites() -> list[str]:
        """Every site of the grid (``Resources/Sites`` in the CS); empty if the CS cannot say."""
        result = getSites()
        return list(result["Value"]) if result["OK"] else []

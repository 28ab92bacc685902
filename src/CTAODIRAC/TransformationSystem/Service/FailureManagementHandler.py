"""FailureManagement service: read-only access to the failure-management decisions and site bans.

Operators read the decisions with ``dirac-ctao-failure-report`` from wherever they have a proxy; only this
service (on the DIRAC servers) holds the DB credentials. The agent writes the DB directly.
"""

from __future__ import annotations

from typing import Any

from DIRAC import S_ERROR, S_OK
from DIRAC.Core.DISET.RequestHandler import RequestHandler
from DIRAC.Core.Utilities.ReturnValues import SErrorException

from CTAODIRAC.TransformationSystem.DB.FailureManagementDB import FailureManagementDB

__all__ = ["FailureManagementHandler"]

#: Most decisions one call returns.
MAX_LIMIT = 100_000


class FailureManagementHandler(RequestHandler):
    """Exports ``getDecisions``, ``getSummary`` (filters are those of ``FailureManagementDB.where_clause``) and
    ``getSiteBans`` (read by the task-manager plugin when the WorkflowTaskAgent submits tasks)."""

    db: FailureManagementDB

    @classmethod
    def initializeHandler(cls, serviceInfoDict: dict[str, Any]) -> dict[str, Any]:
        try:
            cls.db = FailureManagementDB()
        except RuntimeError as exc:
            return S_ERROR(f"Cannot connect to FailureManagementDB: {exc}")
        return S_OK()

    types_getDecisions = [dict, int]

    def export_getDecisions(self, filters: dict[str, Any], limit: int) -> dict[str, Any]:
        """Decisions matching ``filters`` (TransformationID, ProductionID, Class, Site, Kind, State, Since), newest
        first, at most ``limit``."""
        try:
            return S_OK(self.db.get_decisions(filters, min(max(int(limit), 1), MAX_LIMIT)))
        except ValueError as exc:
            return S_ERROR(str(exc))
        except SErrorException as exc:
            return exc.result

    types_getSummary = [dict]

    def export_getSummary(self, filters: dict[str, Any]) -> dict[str, Any]:
        """Counts of decisions by transformation, kind, class, site and state, for ``filters``."""
        try:
            return S_OK(self.db.summary(filters))
        except ValueError as exc:
            return S_ERROR(str(exc))
        except SErrorException as exc:
            return exc.result

    types_getSiteBans = [int]

    def export_getSiteBans(self, transformation_id: int) -> dict[str, Any]:
        """``{lfn: [site, ...]}``: the sites the new tasks of each file of a transformation must avoid."""
        try:
            return S_OK({lfn: sorted(sites) for lfn, sites in self.db.site_bans(transformation_id).items()})
        except SErrorException as exc:
            return exc.result

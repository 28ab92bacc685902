"""DIRAC's ProductionManager with one method more, ``submitProductions``, and productions made as their caller.

``submitProductions`` takes a whole production plan in one call (the request of
:func:`CTAODIRAC.Core.Production.submission.submission_request`) and creates it here, on the server, with the
same :class:`~CTAODIRAC.ProductionSystem.Client.ProductionSubmitter.ProductionSubmitter` that
``dirac-ctao-submit-production --client-side`` runs on the production manager's machine: every guarantee of
that submission (all or nothing with roll-back, never twice, the existing-production rules, output directories
with their metadata, catalog fields, simulation tasks, the checked read-back) holds, but the client waits for one
round trip instead of one per DIRAC call, and a client killed while it waits leaves nothing half made: the server
finishes (or rolls back) on its own. Submissions are made one at a time in a process, so that a re-run arriving
while the first is still being created waits for it and then finds it (instead of taking its unstarted
production for a crashed one and remaking it).

Who owns what is made: DIRAC's ProductionManager creates a production's transformations with its own host
credentials (the transformations' Author is the host). Here every DIRAC call made while serving
``submitProductions``, ``startProduction``, ``deleteProduction`` and ``setProductionStatus`` is made on behalf of
the caller (DIRAC's delegation of a trusted host, ``ThreadConfig``): the services called check the caller's rights
and record the caller (user name and group) as author of the production, its transformations and its catalog
directories. The host running this service needs the ``TrustedHost`` property (DIRAC's server hosts have it).

Authorization (``ConfigTemplate.cfg``): ``submitProductions`` to the ProductionManagement property, like the other
writing methods. Everything else is DIRAC's handler, unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from DIRAC import S_ERROR, S_OK, gLogger
from DIRAC.Core.DISET.ThreadConfig import ThreadConfig
from DIRAC.Core.Security.Properties import SecurityProperty
from DIRAC.Core.Utilities.DEncode import ignoreEncodeWarning
from DIRAC.ProductionSystem.Service.ProductionManagerHandler import (
    ProductionManagerHandler as DIRACProductionManagerHandler,
)

from CTAODIRAC.Core.errors import CTAODIRACError
from CTAODIRAC.Core.JobSide import Software
from CTAODIRAC.Core.Production.submission import read_request

__all__ = ["ProductionManagerHandler", "acting_for"]

#: The DIRAC group of host credentials: a host calling is not delegated again.
HOSTS_GROUP = "hosts"


@contextmanager
def acting_for(credentials: dict[str, Any]) -> Iterator[None]:
    """Every DIRAC client call this thread makes inside the block is made on behalf of ``credentials``' DN and
    group (the caller of the method being served), not of this service's host."""
    dn, group = credentials.get("DN"), credentials.get("group")
    if not dn or not group or group == HOSTS_GROUP:
        yield
        return
    config = ThreadConfig()
    before = config.getID()
    config.setID(dn, group)
    try:
        yield
    finally:
        config.setID(*before)


class ProductionManagerHandler(DIRACProductionManagerHandler):
    #: one submission at a time in this process (see the module's documentation)
    _submissions = threading.Lock()

    types_submitProductions = [str]

    def export_submitProductions(self, request: str) -> dict[str, Any]:
        """Create the productions of ``request`` (JSON: the plan, the catalog base path, the job-side settings).

        ``S_OK({"productions": [...], "log": [...]})``: each production as ``SubmittedProduction.as_dict`` (state
        ``created`` or ``existing``) and the submission's progress lines. ``S_ERROR`` with a ``Submission`` key
        ``{"left", "left_how", "log"}``: what of this run is nevertheless in DIRAC (``left`` None: unknown)."""
        from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter, SubmissionError

        try:
            plan, base_path, settings = read_request(request)
        except ValueError as exc:
            return S_ERROR(str(exc))
        credentials = self.getRemoteCredentials()
        if SecurityProperty.PRODUCTION_MANAGEMENT not in credentials.get("properties", []):
            # the CS rule says so too; checked here as well, for a service section installed without it
            return S_ERROR("Unauthorized query: submitProductions needs the ProductionManagement property")
        lines: list[str] = []
        who = f"{credentials.get('username')}@{credentials.get('group')}"
        with self._submissions, acting_for(credentials):
            gLogger.notice("submitProductions", f"{who}: {', '.join(p.name for p in plan.productions)}")
            software = Software(**settings["software"]) if settings["software"] else None
            submitter = ProductionSubmitter(base_path, say=lines.append, output_se=settings["output_se"],
                                            failover_ses=settings["failover_ses"], software=software)  # fmt: skip
            try:
                done = submitter.submit(plan)
            except SubmissionError as exc:
                return self._failed(str(exc), exc.left, exc.left_how, lines)
            except CTAODIRACError as exc:  # e.g. the catalog refused a field before anything was created
                return self._failed(str(exc), [], "", lines)
            except Exception as exc:  # a bug here: the caller learns it and that a re-run sorts it out
                gLogger.exception("submitProductions failed unexpectedly", who, lException=exc)
                return self._failed(f"the server failed: {type(exc).__name__}: {exc}", None,
                                    "unknown (the ProductionManager's log has the details): run the same command "
                                    "again, it completes what exists and never duplicates", lines)  # fmt: skip
        return S_OK({"productions": [p.as_dict() for p in done], "log": lines})

    @staticmethod
    def _failed(message: str, left: list[str] | None, left_how: str, lines: list[str]) -> dict[str, Any]:
        result = S_ERROR(message)
        result["Submission"] = {"left": left, "left_how": left_how, "log": lines}
        return result

    # DIRAC's methods that create, change or delete transformations: made as the caller
    @ignoreEncodeWarning
    def export_startProduction(self, prodName):
        with acting_for(self.getRemoteCredentials()):
            return self.productionDB.startProduction(prodName)

    def export_deleteProduction(self, prodName):
        with acting_for(self.getRemoteCredentials()):
            return super().export_deleteProduction(prodName)

    def export_setProductionStatus(self, prodName, status):
        with acting_for(self.getRemoteCredentials()):
            return self.productionDB.setProductionStatus(prodName, status)

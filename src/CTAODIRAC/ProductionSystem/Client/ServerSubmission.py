"""Submit a whole production plan in one call: the ProductionManager of this extension creates it on the server.

The client sends the plan with :func:`~CTAODIRAC.Core.Production.submission.submission_request` to
``Production/ProductionManager.submitProductions`` (this extension's handler,
:mod:`CTAODIRAC.ProductionSystem.Service.ProductionManagerHandler`), which runs the same
:class:`~CTAODIRAC.ProductionSystem.Client.ProductionSubmitter.ProductionSubmitter` there, and checks the answer
against its own plan (names, the digest the server computed from what it received, the steps). One client call
per submission, whatever the number of transformations and the latency of the link.

A ProductionManager without this extension's handler answers "Unknown method": that is a
:class:`ServiceMissing` error (nothing was sent to create anything), whose message says how to install it and
that ``--client-side`` submits call by call from this machine instead. Nothing falls back by itself: the
client-side path has a window (a killed client leaves half a campaign, rolled back only by a re-run) and costs a
round trip per DIRAC call, which a production manager should choose knowingly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from DIRAC.Core.Base.Client import Client

from CTAODIRAC.Core.JobSide import Software
from CTAODIRAC.Core.Production.plan import Plan
from CTAODIRAC.Core.Production.submission import returned_problems, submission_request
from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import SubmissionError, SubmittedProduction

__all__ = ["SERVICE", "ServerSubmitter", "ServiceMissing"]

SERVICE = "Production/ProductionManager"
#: Seconds the client waits for the server's answer (the example campaign takes ~20 s on the server; DIRAC's
#: default, 600 s, would cut a plan of a few hundred steps short).
TIMEOUT = 3600


class ServiceMissing(SubmissionError):
    """The ProductionManager does not offer ``submitProductions`` (its server lacks this extension)."""


class ServerSubmitter:
    """Same interface as ``ProductionSubmitter``: ``submit(plan)`` returns the productions or raises
    :class:`SubmissionError` with ``left``/``left_how``."""

    def __init__(
        self,
        base_path: str,
        say: Callable[[str], None] = lambda _line: None,
        output_se: str = "",
        failover_ses: list[str] | None = None,
        software: Software | None = None,
        client: Any = None,
    ):
        self.base_path = base_path
        self.output_se = output_se
        self.failover_ses = failover_ses or []
        self.software = software
        self.say = say
        self.client = client if client is not None else Client(url=SERVICE)

    def submit(self, plan: Plan) -> list[SubmittedProduction]:
        software = self.software.model_dump() if self.software is not None else None
        request = submission_request(plan, self.base_path, self.output_se, self.failover_ses, software)
        result = self.client.executeRPC(request, call="submitProductions", timeout=TIMEOUT)
        details = result.get("Submission") if isinstance(result, dict) else None
        for line in (details or result.get("Value") or {}).get("log", []) if isinstance(result, dict) else []:
            self.say(f"[server] {line}")
        if not isinstance(result, dict) or not result.get("OK"):
            raise self._error(result, details)
        productions = result["Value"]["productions"]
        if problems := returned_problems(plan, productions):
            error = SubmissionError("the server's answer does not match this plan:\n  " + "\n  ".join(problems))
            error.left = [str(p.get("name")) for p in productions]
            error.left_how = "made by the server from a plan other than this client's: check them"
            raise error
        return [SubmittedProduction.from_dict(p) for p in productions]

    @staticmethod
    def _error(result: Any, details: dict | None) -> SubmissionError:
        message = str(result.get("Message", "no message")) if isinstance(result, dict) else repr(result)
        if details is None:
            if "Unknown method submitProductions" in message:
                error: SubmissionError = ServiceMissing(
                    f"{SERVICE} does not offer submitProductions: its DIRAC server runs without this extension "
                    "(operators: docs/operations.md, 'The ProductionManager: server-side submission'); --client-side submits call by call "
                    "from this machine instead")
            else:  # refused, or the call did not reach the server or its answer did not come back
                error = SubmissionError(f"submitProductions: {message}")
                if not _refused(message):
                    error.left = None
                    error.left_how = ("unknown: the server may still have made them; run the same command again: "
                                      "it completes or recognises what was made and never duplicates")  # fmt: skip
            return error
        error = SubmissionError(message)
        error.left = details.get("left")
        error.left_how = str(details.get("left_how") or "")
        return error


def _refused(message: str) -> bool:
    """Whether DIRAC refused the call before running it (nothing was made)."""
    return any(mark in message for mark in ("Unauthorized", "not authorized", "submission request"))

"""What the job-side commands (``dirac-ctao-run-step``, ``dirac-ctao-cwl-run``) do alike inside a DIRAC job:
exit codes, failing with the statuses the failure agent reads, checking the downloaded inputs, storing an
output, sending the failover request.

Exit codes (DIRAC's workflow then sets ApplicationStatus ``'<command>' Exited With Status <n>``):
:data:`EXIT_PAYLOAD` the payload failed or did not produce its outputs; :data:`EXIT_INPUT` an input is
missing; :data:`EXIT_UPLOAD` an output could not be stored or registered; :data:`EXIT_SOFTWARE` the step's
program or software area is not there on this worker (nothing was run).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, NoReturn

from DIRAC import gLogger

from CTAODIRAC.Core.exitcodes import EXIT_INPUT, EXIT_PAYLOAD, EXIT_SOFTWARE, EXIT_UPLOAD
from CTAODIRAC.Core.JobSide import send_once

__all__ = ["EXIT_INPUT", "EXIT_PAYLOAD", "EXIT_SOFTWARE", "EXIT_UPLOAD", "StoreResult", "commit_request", "fail", "job_id",
           "missing_locally", "set_metadata", "store_output", "withdraw_outputs"]

StoreResult = Literal["registered", "failover", "failed"]


def job_id(command: str) -> int:
    """The ID of the DIRAC job running ``command`` (``JOBID``, set by DIRAC's job wrapper); exits
    :data:`EXIT_INPUT` outside a DIRAC job."""
    value = int(os.environ.get("JOBID", "0") or 0)
    if value <= 0:
        gLogger.fatal(f"{command} runs inside a DIRAC job (no JOBID in the environment)")
        sys.exit(EXIT_INPUT)
    return value


def fail(report: Any, code: int, application_status: str, minor_status: str) -> NoReturn:
    """Set the job's statuses (``report``: a DIRAC JobReport), send them, and exit with ``code``."""
    report.setApplicationStatus(application_status)
    report.setJobStatus(minorStatus=minor_status, sendFlag=True)
    sys.exit(code)


def missing_locally(names: Iterable[str]) -> list[str]:
    """The files of ``names`` that are not in the working directory."""
    return [name for name in names if not Path(name).exists()]


def store_output(failover: Any, catalog: Any, local_path: str, lfn: str, se: str,
                 failover_ses: Iterable[str] = (), metadata: Mapping[str, Any] | None = None,
                 log: Any = gLogger, pause: Callable[[float], None] = time.sleep,
                 remover: Any = None) -> StoreResult:
    """Upload ``local_path`` to ``se`` and register it at ``lfn`` (``failover``: a DIRAC FailoverTransfer),
    then set its file ``metadata`` (``catalog``: a FileCatalogClient).

    ``registered``: stored, registered and its metadata set. ``failover``: the upload to ``se`` failed and
    the file went to one of ``failover_ses`` (registered there, its metadata set) with a request (in
    ``failover``) that moves it later. ``failed``: nothing usable: a file stored whose metadata could not be set
    (the catalog failing for longer than :data:`SEND_PAUSES`) is withdrawn again (:func:`withdraw_outputs`).
    """
    name = Path(local_path).name
    absolute = str(Path(local_path).resolve())
    res = failover.transferAndRegisterFile(name, absolute, lfn, [se], {})
    stored: StoreResult = "registered"
    if not res["OK"]:
        log.warn("Upload failed, trying failover", f"{lfn}: {res['Message']}")
        failover_ses = list(failover_ses)
        if not failover_ses:
            log.error("Output could not be stored", lfn)
            return "failed"
        res = failover.transferAndRegisterFileFailover(name, absolute, lfn, se, failover_ses, {})
        if not res["OK"]:
            log.error("Output could not be stored", lfn)
            return "failed"
        stored = "failover"
    # in failover too: the file is registered (at the failover SE), and children select by metadata
    if metadata and not set_metadata(catalog, lfn, metadata, log, pause):
        withdraw_outputs([lfn], log, pause, remover)
        return "failed"
    return stored


def set_metadata(catalog: Any, path: str, metadata: Mapping[str, Any], log: Any = gLogger,
                 pause: Callable[[float], None] = time.sleep) -> bool:
    """Set the catalog ``metadata`` of ``path`` (a file or a directory), tried again after each of
    :data:`SEND_PAUSES` while the catalog fails (its database restarting fails a call or two)."""

    def send() -> str | None:
        res = catalog.setMetadata(path, dict(metadata))
        if res["OK"]:
            return None
        log.warn("Could not set the metadata of", f"{path}: {res['Message']}")
        return str(res["Message"])

    return send_once(send, lambda: False, pause)[0]


def withdraw_outputs(lfns: Iterable[str], log: Any = gLogger, pause: Callable[[float], None] = time.sleep,
                     remover: Any = None) -> list[str]:
    """Remove the outputs a failing job stored (every replica and the catalog entry), before it ends Failed: the
    retry of its inputs makes them again, so left there they would be orphans, and a child transformation that
    selects its inputs by metadata would process them twice. Tried again after each of :data:`SEND_PAUSES` while
    DIRAC fails; ``remover``: a DIRAC DataManager (made when None). Returns the LFNs still there (logged)."""
    left = sorted(set(lfns))
    if not left:
        return []
    if remover is None:
        from DIRAC.DataManagementSystem.Client.DataManager import DataManager

        remover = DataManager()

    def send() -> str | None:
        nonlocal left
        res = remover.removeFile(left, force=True)  # force: one a lost answer removed already is gone
        if not res["OK"]:
            log.warn("Could not remove the outputs", res["Message"])
            return str(res["Message"])
        failed = res["Value"].get("Failed", {})
        for lfn, why in failed.items():
            log.warn("Could not remove the output", f"{lfn}: {why}")
        left = sorted(failed)
        return f"{len(left)} not removed" if left else None

    send_once(send, lambda: False, pause)
    for lfn in left:
        log.error("Output left behind by the failed job", lfn)
    return left


def commit_request(failover: Any, job: int, log: Any = gLogger, pause: Callable[[float], None] = time.sleep) -> bool:
    """Send the request of ``failover`` (a DIRAC FailoverTransfer whose request is named and carries ``job``'s
    ID): tried again while DIRAC's request service fails (a lost database connection fails one call), unless the
    service has a request of this job by then (it stored it and the answer was lost): never two requests of a
    job. Logs each failure; ``False`` when it never arrived."""
    from DIRAC.RequestManagementSystem.Client.ReqClient import ReqClient

    def send() -> str | None:
        res = failover.commitRequest()
        return None if res["OK"] else str(res["Message"])

    def stored() -> bool | None:
        if job <= 0:  # not a DIRAC job: nothing to look it up by
            return None
        res = ReqClient().getRequestIDsForJobs([job])
        if not res["OK"]:
            return None
        found = res["Value"].get("Successful", {})
        return bool(found.get(job) or found.get(str(job)))  # job IDs as keys: int over DISET, str over JSON

    sent, failures = send_once(send, stored, pause)
    for number, why in enumerate(failures, 1):
        log.warn("Could not send the failover request", f"try {number}: {why}")
    return sent

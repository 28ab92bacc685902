"""DIRAC's status names and the client-side file state machine, as plain data.

The strings are DIRAC's (``TransformationFilesStatus``, ``JobStatus``, the transformation and production
statuses); they are written here again so that the core never imports DIRAC. A test compares them with DIRAC's
own modules when DIRAC is installed.
"""

from __future__ import annotations

__all__ = [
    "ACTIVE_TRANSFORMATION_STATUSES",
    "COMPLETED_PRODUCTION_STATUS",
    "COMPLETED_TRANSFORMATION_STATUS",
    "FILE_DONE_STATUSES",
    "FILE_PENDING_STATUSES",
    "FLUSH_TRANSFORMATION_STATUS",
    "JOB_FINAL_STATUSES",
    "PARENT_DONE_STATUSES",
    "RESCHEDULING_MINOR_STATUSES",
    "FileStatus",
    "JobStatus",
    "predict_file_status",
]


class FileStatus:
    """Statuses of a file in a transformation (DIRAC's ``TransformationFilesStatus``)."""

    UNUSED = "Unused"
    ASSIGNED = "Assigned"
    PROCESSED = "Processed"
    PROBLEMATIC = "Problematic"
    MAX_RESET = "MaxReset"
    MISSING_IN_FC = "MissingInFC"
    PROB_IN_FC = "ProbInFC"
    REMOVED = "Removed"
    UNUSED_INHERITED = "Unused-inherited"
    ASSIGNED_INHERITED = "Assigned-inherited"
    MAXRESET_INHERITED = "MaxReset-inherited"
    PROCESSED_INHERITED = "Processed-inherited"
    MOVED = "Moved"
    DELETED = "Deleted"


class JobStatus:
    """Job statuses of DIRAC's WMS (``JobStatus``)."""

    SUBMITTING = "Submitting"
    RECEIVED = "Received"
    CHECKING = "Checking"
    SCOUTING = "Scouting"
    STAGING = "Staging"
    WAITING = "Waiting"
    MATCHED = "Matched"
    RESCHEDULED = "Rescheduled"
    RUNNING = "Running"
    STALLED = "Stalled"
    COMPLETING = "Completing"
    DONE = "Done"
    COMPLETED = "Completed"
    FAILED = "Failed"
    DELETED = "Deleted"
    KILLED = "Killed"


#: Job statuses in which the payload has finished (DIRAC's ``JOB_FINAL_STATES``).
JOB_FINAL_STATUSES: frozenset[str] = frozenset(
    {JobStatus.DONE, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.KILLED}
)

#: MinorStatus values of a Failed job that DIRAC is about to reschedule (JobWrapper / JobMinorStatus).
RESCHEDULING_MINOR_STATUSES: frozenset[str] = frozenset({"Going to reschedule job", "Job Rescheduled"})

#: File statuses that still need work in a transformation: a transformation with such files is not finished.
FILE_PENDING_STATUSES: frozenset[str] = frozenset(
    {FileStatus.UNUSED, FileStatus.ASSIGNED, FileStatus.UNUSED_INHERITED, FileStatus.ASSIGNED_INHERITED}
)

#: File statuses that need no more work: processed, given up (Problematic, MaxReset) or gone.
#: A status in neither set (unknown to this module) counts as pending, to stay on the safe side.
FILE_DONE_STATUSES: frozenset[str] = frozenset(
    {
        FileStatus.PROCESSED,
        FileStatus.PROCESSED_INHERITED,
        FileStatus.PROBLEMATIC,
        FileStatus.MAX_RESET,
        FileStatus.MAXRESET_INHERITED,
        FileStatus.MISSING_IN_FC,
        FileStatus.PROB_IN_FC,
        FileStatus.REMOVED,
        FileStatus.MOVED,
        FileStatus.DELETED,
    }
)

#: Transformation statuses in which tasks are still created, so a Flush makes sense.
ACTIVE_TRANSFORMATION_STATUSES: frozenset[str] = frozenset({"Active", "Idle"})
FLUSH_TRANSFORMATION_STATUS = "Flush"
COMPLETED_TRANSFORMATION_STATUS = "Completed"
COMPLETED_PRODUCTION_STATUS = "Completed"

#: Statuses of a parent transformation that mean it produces nothing more (Archived comes after Completed).
PARENT_DONE_STATUSES: frozenset[str] = frozenset({"Completed", "Archived"})


def predict_file_status(current: str, proposed: str, error_count: int, max_reset_counter: int) -> str:
    """The status DIRAC's ``TransformationClient.setFileStatusForTransformation`` would give a file (no force).

    Mirrors the client-side rules of DIRAC 9.1: a Processed file stays Processed; a MaxReset file never goes
    back to Unused; a file sent back to Unused becomes MaxReset when its ErrorCount (as stored, before this
    change) is a non-zero multiple of ``Operations/Transformations/FilesMaxResetCounter``.

    Parameters
    ----------
    current:
        The file's status now.
    proposed:
        The status one would like to set.
    error_count:
        The file's ErrorCount as stored in the TransformationDB.
    max_reset_counter:
        ``Operations/Transformations/FilesMaxResetCounter`` (DIRAC's default is 10).

    Returns
    -------
    str
        The status the file would end in; equal to ``current`` when nothing would change.
    """
    if current == FileStatus.PROCESSED:
        return FileStatus.PROCESSED
    if current == FileStatus.MAX_RESET:
        return FileStatus.MAX_RESET if proposed == FileStatus.UNUSED else proposed
    if proposed == FileStatus.UNUSED and max_reset_counter > 0 and error_count and error_count % max_reset_counter == 0:
        return FileStatus.MAX_RESET
    return proposed

"""A step's ``input_limit`` in DIRAC terms: which files of a transformation count against it, which Unused files
may still be handed out, and the final status of those beyond it.

Shared by our TransformationAgent plugin (``TransformationSystem/Agent/TransformationPlugin.py``), which hands
out at most ``input_limit`` files in all, and the failure policy, which puts the Unused files beyond a reached
limit in :data:`BEYOND_LIMIT_STATUS` so that the transformation can complete. Plain data and functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .statuses import FileStatus

__all__ = [
    "BEYOND_LIMIT_STATUS",
    "NOT_TAKEN_STATUSES",
    "files_taken",
    "limit_reached",
    "pick_within_limit",
    "remaining_files",
]

#: The final status of an Unused file beyond a reached ``input_limit``: DIRAC's ``Removed``. Of DIRAC's file
#: statuses it is the one that says "no longer this transformation's work" without a failure or a catalog
#: problem: ``Problematic`` and ``MaxReset`` mean the file failed (DIRAC's monitoring counts Problematic as
#: problematic, ``moveFilesToDerivedTransformation`` moves MaxReset files on), ``MissingInFC``/``ProbInFC``/
#: ``Deleted`` are catalog states; no DIRAC 9.1 agent or plugin takes a ``Removed`` file again (plugins get
#: Unused and ProbInFC files), the InputDataAgent never adds a file twice to a transformation, and a derived
#: transformation does not inherit ``Removed`` files (TransformationDB skips them).
BEYOND_LIMIT_STATUS: str = FileStatus.REMOVED

#: File statuses that do not count against the limit: waiting (Unused), left out by the limit (Removed) or
#: gone from the catalog or to another transformation. Every other status, also one unknown here, counts: a
#: file that was handed out (Assigned, Processed, given up as Problematic or MaxReset) used its place; counting
#: an unknown status keeps the limit on the safe side (never more files than the limit).
NOT_TAKEN_STATUSES: frozenset[str] = frozenset(
    {
        FileStatus.UNUSED,
        FileStatus.UNUSED_INHERITED,
        FileStatus.REMOVED,
        FileStatus.MISSING_IN_FC,
        FileStatus.PROB_IN_FC,
        FileStatus.MOVED,
        FileStatus.DELETED,
    }
)


def files_taken(counts: Mapping[str, int]) -> int:
    """How many files of a transformation count against its limit, from its file counts by status."""
    return sum(int(count) for status, count in counts.items() if status not in NOT_TAKEN_STATUSES)


def remaining_files(limit: int | None, counts: Mapping[str, int]) -> int | None:
    """How many more files may be handed out (None: no limit)."""
    if limit is None:
        return None
    return max(0, limit - files_taken(counts))


def limit_reached(limit: int | None, counts: Mapping[str, int]) -> bool:
    """Whether no more file may be handed out (False without a limit)."""
    return remaining_files(limit, counts) == 0


def pick_within_limit(files: Iterable[tuple[str, int]], remaining: int) -> list[str]:
    """The files that may be handed out, at most ``remaining``, in a deterministic order.

    ``files`` are ``(lfn, error count)`` of the Unused files on offer. Files already tried (an error count: a
    retry sent them back to Unused) come first, so that a retry is never displaced by a fresh file and left
    beyond the limit; then by LFN.
    """
    ordered = sorted(set(files), key=lambda item: (0 if item[1] else 1, item[0]))
    picked: dict[str, None] = {}
    for lfn, _errors in ordered:
        if len(picked) >= remaining:
            break
        picked.setdefault(lfn)
    return list(picked)

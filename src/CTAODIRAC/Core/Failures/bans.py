"""Site bans at task submission, the pure part.

The failure agent records, per transformation and file, the sites a file's new tasks must avoid
(``FMSiteBans``). When DIRAC's WorkflowTaskAgent prepares a task, this extension's task-manager plugin
(``CTAODIRAC.TransformationSystem.Client.TaskManagerPlugin``) asks :func:`apply_site_bans` what the task's
destination becomes:

- the sites banned for any of the task's input files are written into the job as ``BannedSites`` (DIRAC's
  matcher then never gives the job to a pilot of those sites, whatever its destination);
- an explicit destination (from the transformation's destination plugin, e.g. ``BySE``) loses those sites;
- when the bans exclude every site the task could go to (every site of an explicit destination, or every site
  of the grid for "any site"), they are not applied (the job could run nowhere: DIRAC's JobScheduling optimizer
  would fail it) and the outcome says so, for the log.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["BanOutcome", "apply_site_bans", "task_lfns"]


@dataclass(frozen=True)
class BanOutcome:
    """What a task's destination becomes.

    ``destinations``: the sites the task may go to (empty: any site, as DIRAC's plugins return it);
    ``banned``: the sites written into the job as ``BannedSites`` (sorted; empty: none);
    ``unsatisfiable``: the bans were dropped because they excluded every site of the destination.
    """

    destinations: frozenset[str]
    banned: tuple[str, ...] = ()
    unsatisfiable: tuple[str, ...] = field(default=())


def task_lfns(input_data: str | Iterable[str] | None) -> list[str]:
    """The LFNs of a task's ``InputData`` (a ``;``-separated string from the TransformationDB, or a list)."""
    if not input_data:
        return []
    if isinstance(input_data, str):
        items: Iterable[str] = input_data.split(";")
    else:
        items = input_data
    return [lfn.strip() for lfn in items if lfn and lfn.strip()]


def apply_site_bans(
    destinations: Collection[str],
    lfns: Iterable[str],
    bans: Mapping[str, Collection[str]],
    all_sites: Collection[str] = (),
) -> BanOutcome:
    """The destination of a task whose input files are ``lfns``, given the bans ``{lfn: sites}`` of its
    transformation, the ``destinations`` its destination plugin chose (empty: any site) and the sites of the grid
    (``all_sites``; empty: unknown)."""
    chosen = frozenset(destinations)
    banned = sorted({site for lfn in lfns for site in bans.get(lfn, ())})
    if not banned:
        return BanOutcome(destinations=chosen)
    if chosen:
        allowed = chosen - set(banned)
        if not allowed:
            return BanOutcome(destinations=chosen, unsatisfiable=tuple(banned))
        return BanOutcome(destinations=frozenset(allowed), banned=tuple(banned))
    if all_sites and set(all_sites) <= set(banned):
        return BanOutcome(destinations=chosen, unsatisfiable=tuple(banned))
    return BanOutcome(destinations=chosen, banned=tuple(banned))

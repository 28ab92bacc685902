"""Site bans at task submission, the pure part.

The failure agent records, per transformation and file, the sites a file's new tasks must avoid
(``FMSiteBans``). When DIRAC's WorkflowTaskAgent prepares a task, this extension's task-manager plugin
(``CTAODIRAC.TransformationSystem.Client.TaskManagerPlugin``) asks :func:`apply_site_bans` what the task's
destination becomes:

- the sites banned for any of the task's input files are written into the job as ``BannedSites``, *added* to the
  sites the step itself bans (the job template's ``BannedSites``, which a task parameter would otherwise
  replace): DIRAC's matcher then never gives the job to a pilot of those sites, whatever its destination;
- an explicit destination (from the transformation's destination plugin, e.g. ``BySE``) loses those sites;
  when it loses all of them (``BySE`` sends a task to the site of the one storage element the TransformationAgent
  chose for it) and the task's input files have copies at other sites too (``data_sites``), the task goes
  there instead;
- when the bans exclude every site the task could go to, they are not applied (the job could run nowhere:
  DIRAC's JobScheduling optimizer would fail it, or it would wait forever) and the outcome says so, for the log.
  The sites a task could go to are the destination plugin's, narrowed to the step's own ``sites`` (the job
  template's ``Site``, which DIRAC intersects with them later), or the step's sites alone, or every site of the
  grid; the step's own banned sites are taken away from them first.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
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
    step_sites: Collection[str] = (),
    step_banned: Collection[str] = (),
    data_sites: Callable[[], Collection[str]] | None = None,
) -> BanOutcome:
    """The destination of a task whose input files are ``lfns``, given the bans ``{lfn: sites}`` of its
    transformation, the ``destinations`` its destination plugin chose (empty: any site), the sites of the grid
    (``all_sites``; empty: unknown), and the step's own ``step_sites`` (empty: any) and ``step_banned``.

    ``banned`` of the outcome, when not empty, is the job's whole ``BannedSites``: the step's own and the
    failure agent's. ``data_sites``: asked only when the bans empty an explicit destination, the sites holding a
    copy of every input file of the task."""
    chosen = frozenset(destinations)
    failure_banned = {site for lfn in lfns for site in bans.get(lfn, ())}
    if not failure_banned:
        return BanOutcome(destinations=chosen)
    banned = tuple(sorted(failure_banned | set(step_banned)))
    if chosen and step_sites:
        candidates: frozenset[str] = chosen & frozenset(step_sites)
    else:
        candidates = chosen or frozenset(step_sites) or frozenset(all_sites)
    # an empty candidate set here means "unknown" only when nothing narrowed it; a narrowed empty set runs nowhere
    known = bool(candidates) or bool(chosen and step_sites)
    if known and not candidates - set(banned):
        if chosen and data_sites is not None:
            elsewhere = set(data_sites()) - set(banned)
            if step_sites:
                elsewhere &= set(step_sites)
            if elsewhere:
                return BanOutcome(destinations=frozenset(elsewhere), banned=banned)
        return BanOutcome(destinations=chosen, unsatisfiable=tuple(sorted(failure_banned)))
    return BanOutcome(destinations=frozenset(chosen - failure_banned), banned=banned)

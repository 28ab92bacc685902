"""Small builders of facts for the policy tests (test code only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from CTAODIRAC.Core.Failures import (
    CycleFacts,
    Decision,
    FileFacts,
    JobFacts,
    TaskFacts,
    TransformationFacts,
    count_failures,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(hours=2)

STALLED = ("Job stalled: pilot not running", "")
CPU = ("Job has reached the CPU limit of the queue", "")
SOFTWARE = ("Application Finished With Errors", "'cta-prod-setup-software' Exited With Status 1")
INPUT = ("Input Data Resolution", "")
UPLOAD = ("Uploading Output Data", "")
APPLICATION = ("Application Finished With Errors", "'ctapipe-process' Exited With Status 1")
UNKNOWN = ("Something nobody foresaw", "")


def job(
    job_id: int,
    reason: tuple[str, str] = STALLED,
    *,
    status: str = "Failed",
    site: str = "LCG.Site-A.xx",
    last_update: datetime | None = LONG_AGO,
) -> JobFacts:
    minor, application = reason
    return JobFacts(
        job_id=job_id,
        status=status,
        minor_status=minor,
        application_status=application,
        site=site,
        last_update=last_update,
    )


def task(task_id: int, the_job: JobFacts | None, *lfns: str) -> TaskFacts:
    return TaskFacts(task_id=task_id, job=the_job, lfns=tuple(lfns))


def files(task_id: int | None, *lfns: str, status: str = "Assigned", error_count: int = 1, **failures: int):
    return {
        lfn: FileFacts(lfn=lfn, status=status, error_count=error_count, task_id=task_id, failures=dict(failures))
        for lfn in lfns
    }


def transformation(
    tid: int = 1,
    tasks: Iterable[TaskFacts] = (),
    file_facts: dict[str, FileFacts] | None = None,
    *,
    status: str = "Active",
    type_: str = "DataReprocessing",
    group_size: int = 1,
    parents: dict[int, str] | None = None,
    counts: dict[str, int] | None = None,
    site_failures: dict[tuple[str, str], int] | None = None,
    production_id: int | None = 7,
) -> TransformationFacts:
    return TransformationFacts(
        transformation_id=tid,
        status=status,
        type=type_,
        group_size=group_size,
        production_id=production_id,
        parents=parents if parents is not None else {},
        tasks=tuple(tasks),
        files=file_facts or {},
        file_counts=counts or {},
        site_failures=site_failures or {},
    )


def cycle(*transformations: TransformationFacts, productions=(), now: datetime = NOW, max_reset: int = 10):
    return CycleFacts(
        now=now,
        transformations=tuple(transformations),
        productions=tuple(productions),
        files_max_reset_counter=max_reset,
    )


def recorded_state(facts: CycleFacts, recorded: list[Decision]) -> CycleFacts:
    """The facts as the agent would gather them again after recording ``recorded`` (nothing applied).

    The per-file and per-site counters come from the recorded decisions, as the agent's DB would count them.
    """
    per_file, per_site = count_failures(recorded)
    new_transformations = []
    for trans in facts.transformations:
        tid = trans.transformation_id
        new_files = {
            lfn: replace(f, failures=dict(per_file.get((tid, lfn), Counter()))) for lfn, f in trans.files.items()
        }
        new_sites = {(site, cls): n for (t, site, cls), n in per_site.items() if t == tid}
        new_transformations.append(replace(trans, files=new_files, site_failures=new_sites))
    return replace(facts, transformations=tuple(new_transformations))

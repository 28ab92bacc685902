"""What every job of ours sets on a DIRAC ``Job`` (resources, tags, sites), and what DIRAC's Job API refused.

Shared by the CWL jobs of ``dirac-ctao-submit-cwl-job`` and the step jobs of ``dirac-ctao-submit-production``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from DIRAC.Interfaces.API.Job import Job

__all__ = ["apply_job_settings", "job_errors"]


def apply_job_settings(
    job: Job,
    *,
    cpu_time: int | None = None,
    processors: int | Mapping[str, int] = 1,
    memory_mb: int | None = None,
    tags: Collection[str] = (),
    sites: Collection[str] = (),
    banned_sites: Collection[str] = (),
) -> None:
    """Set on ``job`` what is given, in this order: ``setCPUTime``, ``setNumberOfProcessors``,
    ``setRAMRequirements(ramRequired=...)``, ``setTag``, ``setDestination`` and ``setBannedSites``; an unset
    value (``None``, 0, empty) is not set. ``processors`` is a number of processors (set when more than 1) or
    the keyword arguments of ``setNumberOfProcessors`` (e.g. ``DiracJobSettings.processor_arguments()``).

    What the Job API refuses lands in ``job.errorDict`` (:func:`job_errors`), except the processors: an
    impossible range raises DIRAC's ``BadJobParameterError``."""
    if cpu_time:
        job.setCPUTime(cpu_time)
    if isinstance(processors, Mapping):
        if processors:
            job.setNumberOfProcessors(**processors)
    elif processors > 1:
        job.setNumberOfProcessors(processors)
    if memory_mb:
        job.setRAMRequirements(ramRequired=memory_mb)
    if tags:
        job.setTag(list(tags))
    if sites:
        job.setDestination(list(sites))
    if banned_sites:
        job.setBannedSites(list(banned_sites))


def job_errors(job: Job, *, messages_only: bool = True) -> str | None:
    """What DIRAC's Job API refused on ``job``, as one line (``None``: nothing). Each refusal is DIRAC's report
    (the method, its arguments, ``Message: ...``); by default only the ``Message:`` lines are kept, joined
    with ``; `` (``str(job.errorDict)`` when there is none). ``messages_only=False``: every non-blank line."""
    if not job.errorDict:
        return None
    lines = [
        line.strip() for messages in job.errorDict.values() for message in messages
        for line in str(message).splitlines() if line.strip()
    ]  # fmt: skip
    if not messages_only:
        return "; ".join(lines)
    return "; ".join(line for line in lines if line.startswith("Message:")) or str(job.errorDict)

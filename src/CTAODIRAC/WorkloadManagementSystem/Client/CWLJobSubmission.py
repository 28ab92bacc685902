"""The DIRAC side of ``dirac-ctao-submit-cwl-job``: one CWL job as a DIRAC ``Job``, submitted to the WMS.

Imported by the command only with ``--submit``, so that the dry run works without DIRAC's configuration.
"""

from __future__ import annotations

import DIRAC
from DIRAC.Interfaces.API.Job import BadJobParameterError, Job

from CTAODIRAC.Core.CWL.jobside import DiracJobSettings
from CTAODIRAC.Core.errors import CTAODIRACError, DiracCallError
from CTAODIRAC.Utilities.ReturnValues import value_or_raise
from CTAODIRAC.WorkloadManagementSystem.Client.JobSettings import apply_job_settings, job_errors

__all__ = ["CWLJobError", "build_job", "submit_job"]


class CWLJobError(CTAODIRACError, RuntimeError):
    """DIRAC refused the job (or is not usable here); ``name`` is the job's name."""

    def __init__(self, name: str, message: str):
        super().__init__(f"job {name}: {message}")
        self.name = name


def build_job(settings: DiracJobSettings) -> Job:
    """The DIRAC job of ``settings``; a value DIRAC's Job API refuses raises :class:`CWLJobError`."""
    job = Job()
    job.setName(settings.name)
    job.setExecutable(settings.executable, arguments=settings.arguments, logFile=settings.log_file)
    job.setInputSandbox(list(settings.input_sandbox))
    if settings.input_data:
        job.setInputData(list(settings.input_data))
    job.setOutputSandbox(list(settings.output_sandbox))
    try:
        apply_job_settings(
            job, cpu_time=settings.cpu_time, processors=settings.processor_arguments(), memory_mb=settings.memory_mb,
            tags=settings.tags, sites=settings.sites, banned_sites=settings.banned_sites,
        )  # fmt: skip
    except BadJobParameterError as exc:  # an impossible processor range
        raise CWLJobError(settings.name, str(exc)) from None
    if (problems := job_errors(job, messages_only=False)) is not None:
        raise CWLJobError(settings.name, f"refused by DIRAC's Job API: {problems}")
    return job


def submit_job(settings: DiracJobSettings) -> int:
    """Submit the job to the WMS (DIRAC initialised here: configuration and proxy); returns its ID."""
    try:
        DIRAC.initialize()
    except Exception as exc:  # DIRACInitError and friends: no configuration, no proxy...
        raise CWLJobError(settings.name, f"DIRAC is not usable here: {exc}") from None
    from DIRAC.Interfaces.API.Dirac import Dirac

    job = build_job(settings)
    res = Dirac().submitJob(job)
    try:
        return int(value_or_raise(res, "submitJob"))
    except DiracCallError as exc:
        raise CWLJobError(settings.name, f"submission failed: {exc.message}") from None

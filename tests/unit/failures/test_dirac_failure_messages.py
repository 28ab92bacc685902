"""Every status DIRAC itself leaves on a failed or killed job has a deliberate failure class.

The statuses are enumerated from the installed DIRAC (``_dirac_messages``: JobStatus / JobMinorStatus by
import, the messages of the JobWrapper, Watchdog, JobAgent, PushJobAgent, StalledJobAgent, optimizers, kills,
JobDB, RMS and DataRecoveryAgent by reading their source with ``ast``). Each must be in the tables below, which
name the class the built-in rule table must give it and why; each table entry must still be set by DIRAC. A
DIRAC upgrade that adds, changes or drops a message fails here, naming it: decide its class, add a rule to
``DEFAULT_RULES`` if needed, and update the table (and docs/failure-management.md).

Templates keep DIRAC's placeholders (``{expression}``, ``%d``); they are classified with a plain value in
their place.
"""

from __future__ import annotations

import pytest

from CTAODIRAC.Core.Failures import FailureClass, JobFacts, default_rule_table
from CTAODIRAC.Core.Failures.statuses import JOB_FINAL_STATUSES, RESCHEDULING_MINOR_STATUSES

pytest.importorskip("DIRAC")

from . import _dirac_messages as dirac  # noqa: E402

INFRA = FailureClass.INFRASTRUCTURE
SOFTWARE = FailureClass.SOFTWARE
INPUT = FailureClass.INPUT_DATA
OUTPUT = FailureClass.OUTPUT_UPLOAD
APP = FailureClass.APPLICATION
UNKNOWN = FailureClass.UNKNOWN
#: Not classified: the failure agent waits (DIRAC is rescheduling the job).
WAIT = "wait"

MAXR = dirac.MAX_RESCHEDULINGS
JS = "JobScheduling optimizer"

# ------------------------------------------------------------------------------------------------ job statuses

#: DIRAC's job statuses and what the failure agent does with a job in each.
JOB_STATUSES = {
    "Submitting": "not a failure (StalledJobAgent fails a job stuck here: Failed)",
    "Received": "not a failure",
    "Checking": "not a failure (an optimizer failing it sets Failed)",
    "Scouting": "not a failure",
    "Staging": "not a failure",
    "Waiting": "not a failure",
    "Matched": "not a failure (StalledJobAgent reschedules a stuck one)",
    "Rescheduled": "not a failure: DIRAC runs the job again",
    "Running": "not a failure",
    "Stalled": "waits: DIRAC's StalledJobAgent turns it Failed (Job stalled: pilot not running / Stalling ...)",
    "Completing": "not a failure",
    "Done": "not a failure",
    "Completed": "not a failure",
    "Failed": "classified",
    "Deleted": "not a failure",
    "Killed": "classified (left alone unless RetryKilledJobs)",
}

# -------------------------------------------------------------------------------- JobMinorStatus constants

#: Each JobMinorStatus constant as the MinorStatus of a Failed job with no ApplicationStatus.
MINOR_STATUS_CONSTANTS = {
    "Application": (INFRA, "the payload was running and nothing reported why the job ended: wrapper or pilot died"),
    "Application Finished Successfully": (INFRA, "the payload succeeded; the wrapper stopped before its uploads"),
    "Application Finished With Errors": (APP, "the payload exited non-zero"),
    "Application not found": (SOFTWARE, "no executable where the job runs: the software set-up is missing"),
    "Application thread did not complete": (INFRA, "the payload process vanished without exit status"),
    "Application thread failed": (SOFTWARE, "the payload's process could not be run (executable or interpreter)"),
    "Downloading InputSandbox": (INPUT, "the input sandbox could not be downloaded"),
    "Downloading InputSandbox LFN(s)": (INPUT, "the input sandbox files from the catalog could not be downloaded"),
    "Exception During Execution": (INFRA, "an exception in DIRAC's job wrapper while the payload ran"),
    "Execution Complete": (UNKNOWN, "the minor status of a Done job: a Failed one with it tells no reason"),
    "Failed Downloading InputSandbox": (INPUT, "the input sandbox could not be downloaded"),
    "Failed Downloading InputSandbox LFN(s)": (INPUT, "the input sandbox files could not be downloaded"),
    "Failed sending requests": (OUTPUT, "the failover requests (uploads, registrations) could not be sent"),
    "Going to reschedule job": (WAIT, "DIRAC reschedules the job (payload asked for it)"),
    "Illegal Job JDL": (APP, "the job description is wrong: a new task gets the same one"),
    "Input Data Not Available": (INPUT, "the input data has no usable replica"),
    "Input Data Resolution": (INPUT, "the job wrapper could not resolve or get its input data"),
    "Job Initialization": (INFRA, "the wrapper stopped while initialising"),
    "Job Rescheduled": (WAIT, "DIRAC rescheduled the job"),
    "Job Wrapper Initialization": (INFRA, "DIRAC's job wrapper could not initialise"),
    "Job has exceeded maximum wall clock time": (INFRA, "the Watchdog's wall-clock limit"),
    "Job has insufficient disk space to continue": (INFRA, "the worker node's disk is full"),
    "Job has reached the CPU limit of the queue": (INFRA, "the batch slot's time is used up"),
    "Job stalled: pilot not running": (INFRA, "the pilot died (StalledJobAgent)"),
    "JobWrapper execution": (INFRA, "the wrapper's execution phase failed (payload asked for a reschedule)"),
    "Marked for termination": (INFRA, "killed through DIRAC (operator, owner, StalledJobAgent): from outside"),
    "No candidate sites available": (INPUT, "no site holds all the input data (InputData optimizer)"),
    "Output Data Uploaded": (INFRA, "outputs were stored; the wrapper stopped afterwards"),
    "Output Sandbox Uploaded": (INFRA, "the output sandbox was stored; the wrapper stopped afterwards"),
    "Pending Requests": (APP, "a Failed job with requests: the payload did not succeed (wrapper's finalize)"),
    "Pilot Agent Submission": (INFRA, "the job waited for a pilot and never ran"),
    "Received Kill signal": (INFRA, "the Watchdog got DIRAC's kill command"),
    "Requests done": (APP, "the RMS finished the requests of a failed payload's job"),
    "Resolving Output Sandbox": (OUTPUT, "the output sandbox could not be gathered"),
    "Uploading Output Data": (OUTPUT, "output data could be neither stored nor put in failover"),
    "Uploading Output Sandbox": (OUTPUT, "the output sandbox could not be uploaded"),
    "Uploading Outputs": (OUTPUT, "the wrapper's output processing failed"),
    "Watchdog identified this job as stalled": (INFRA, "no CPU used for too long (Watchdog)"),
}

# ------------------------------------------------------------------------ messages DIRAC sets, from its source

#: (Status, MinorStatus, ApplicationStatus) as DIRAC sets them on a Failed or Killed job.
DIRAC_MESSAGES = {
    # --- JobWrapper ---------------------------------------------------------------------------------------
    ("Failed", "Application not found", ""): (SOFTWARE, "no executable in the job or none at its path"),
    ("Failed", "Application thread did not complete", ""): (INFRA, "the payload vanished, no exit status"),
    ("Failed", "Application thread failed", ""): (SOFTWARE, "the payload's process could not be run"),
    ("Failed", "Exception During Execution", ""): (INFRA, "exception in DIRAC's job wrapper"),
    ("Failed", "Execution Complete", ""): (
        UNKNOWN,
        "never set on a Failed job: the collector pairs finalize()'s status and minor variables; a Done minor",
    ),
    ("Failed", "Failed sending requests", ""): (OUTPUT, "failover requests could not be sent"),
    ("Failed", "Pending Requests", ""): (APP, "finalize() of a failed payload that sent requests"),
    ("Failed", "Uploading Output Data", ""): (OUTPUT, "output data neither stored nor in failover"),
    # --- Watchdog (reported by the job wrapper as the reason it stopped the payload) -----------------------
    ("Failed", "Available disk space could not be established", ""): (INFRA, "Watchdog check impossible"),
    ("Failed", "Job exceeded maximum load average", ""): (INFRA, "Watchdog load check (node overloaded)"),
    ("Failed", "Job load average not established", ""): (INFRA, "Watchdog check impossible"),
    ("Failed", "Job has exceeded maximum CPU time limit", ""): (INFRA, "the job's CPU time requirement"),
    ("Failed", "Job has exceeded maximum wall clock time", ""): (INFRA, "Watchdog wall-clock limit"),
    ("Failed", "Job has insufficient disk space to continue", ""): (INFRA, "disk full on the node"),
    ("Failed", "Job has reached the CPU limit of the queue", ""): (INFRA, "batch slot time used up"),
    ("Failed", "Job start time could not be established", ""): (INFRA, "Watchdog check impossible"),
    ("Failed", "Missing CPUConsumed info", ""): (INFRA, "Watchdog check impossible"),
    ("Failed", "Missing WallClockTime info", ""): (INFRA, "Watchdog check impossible"),
    ("Failed", "Received Kill signal", ""): (INFRA, "DIRAC's kill command reached the Watchdog"),
    ("Failed", "Watchdog identified this job as stalled", ""): (INFRA, "no CPU used for too long"),
    # --- JobAgent / PushJobAgent ---------------------------------------------------------------------------
    ("Failed", "Could Not Extract JDL Parameters", ""): (APP, "the job description cannot be read"),
    ("Failed", "Job has not JobID defined in JDL parameters", ""): (APP, "the job description is incomplete"),
    ("Failed", "Matcher did not return {param}", ""): (INFRA, "incomplete answer of DIRAC's Matcher"),
    ("Failed", "Matcher returned null {param}", ""): (INFRA, "incomplete answer of DIRAC's Matcher"),
    ("Failed", "Payload failed", ""): (INFRA, "the wrapper process ended non-zero while the job still ran"),
    # --- reschedules that ran out (JobDB fails the job; ApplicationStatus keeps the cause) -----------------
    ("Failed", MAXR, ""): (INFRA, "rescheduled too often (StalledJobAgent, pilot losses)"),
    ("Failed", MAXR, "Failed Could Not Create Working Directory "): (INFRA, "the node's working directory"),
    ("Failed", MAXR, "Failed Downloading InputSandbox "): (INPUT, "the input sandbox, on the last attempt"),
    ("Failed", MAXR, "Failed Input Data Resolution "): (INPUT, "the input data, on the last attempt"),
    ("Failed", MAXR, "Failed Job Wrapper Initialization "): (INFRA, "DIRAC's job wrapper on the node"),
    ("Failed", MAXR, "Failed JobWrapper execution "): (INFRA, "the wrapper's execution phase"),
    ("Failed", MAXR, "Failed Uploading Outputs "): (OUTPUT, "the outputs, on the last attempt"),
    ("Failed", MAXR, "Failed Working Directory already exists "): (INFRA, "the node's working directory"),
    ("Failed", MAXR, "Failed software installation"): (SOFTWARE, "the VO's software installation failed"),
    ("Failed", MAXR, "{software['Message']}"): (
        INFRA,
        "the SoftwareDistModule's own message, free text: software only when it says 'software'",
    ),
    ("Failed", MAXR, "Failed to setup proxy: {proxyResult['Message']}"): (INFRA, "the pilot's proxy"),
    ("Failed", MAXR, "Invalid Proxy"): (INFRA, "the pilot's proxy"),
    ("Failed", MAXR, "Proxy has no group properties defined"): (INFRA, "the pilot's proxy"),
    ("Failed", MAXR, "{result_setupProxy['Message']}"): (INFRA, "the pilot's proxy"),
    ("Failed", MAXR, "Job submission failed: {result['Message']}"): (INFRA, "the pilot's computing element"),
    ("Failed", MAXR, "{result['Message']}"): (INFRA, "the pilot's computing element (CE error)"),
    ("Failed", MAXR, "{resultSubmission['Message']}"): (INFRA, "PushJobAgent's CE (JobAgent's _submitJob)"),
    # --- StalledJobAgent ----------------------------------------------------------------------------------
    ("Failed", "Job stalled: pilot not running", ""): (INFRA, "the pilot is gone"),
    ("Failed", "Stalling for more than %d sec", ""): (INFRA, "the pilot runs but the job sent no sign of life"),
    # --- JobDB --------------------------------------------------------------------------------------------
    ("Failed", "Error in JDL syntax", ""): (APP, "the job description is wrong"),
    # --- optimizers (MinorStatus "<Name> optimizer", the error as ApplicationStatus) ------------------------
    ("Failed", "InputData optimizer", "Failed to instantiate DataManager for vo {vo}"): (INFRA, "DIRAC's config"),
    ("Failed", "InputData optimizer", "Failed to instantiate FileCatalog for vo {vo}"): (INFRA, "DIRAC's config"),
    ("Failed", "InputData optimizer", "Input data not available"): (INPUT, "an input file has no replica"),
    ("Failed", "InputData optimizer", "No candidate sites available"): (INPUT, "no site holds all the inputs"),
    ("Failed", "InputData optimizer", "No replica Info available"): (INPUT, "the catalog gave no replicas"),
    ("Failed", "InputData optimizer", dirac.PASSED_ON): (INPUT, "looking up the input data failed"),
    ("Failed", "JobPath optimizer", dirac.PASSED_ON): (INFRA, "the WMS failed the job before it ran"),
    ("Failed", "JobSanity optimizer", dirac.PASSED_ON): (INFRA, "sandbox assignment in the WMS failed"),
    ("Failed", JS, "Cannot find tape replicas"): (INPUT, "data to stage has no tape replica"),
    ("Failed", JS, "Could not determine SEs for site {stageSite}"): (INFRA, "site/SE configuration"),
    ("Failed", JS, "Impossible InputData * Site requirements"): (INPUT, "no allowed site holds the input"),
    ("Failed", JS, "Impossible site requirement"): (INFRA, "no site left for the job"),
    ("Failed", JS, "No Local SEs for site {stageSite}"): (INFRA, "site/SE configuration"),
    ("Failed", JS, "No destination sites available"): (INFRA, "no site left for the job"),
    ("Failed", JS, "No possible site candidates"): (INFRA, "no site left for the job (bans, site mask)"),
    ("Failed", JS, "No such file or directory ( 2 : File not at {','.join(sorted(seList))})"): (
        INPUT,
        "a production job's input has no replica at any SE (a lost replica)",
    ),
    ("Failed", JS, "No such file or directory ( 2 : File not in FC)"): (INPUT, "the input is not in the catalog"),
    ("Failed", JS, "RescheduleCounter has to be an integer"): (INFRA, "the WMS's own job record"),
    ("Failed", JS, "Site candidates do not have all the input data"): (INPUT, "no site holds every input"),
    ("Failed", JS, "Stage not allowed"): (INPUT, "the input is on tape and may not be staged"),
    ("Failed", JS, dirac.PASSED_ON): (INFRA, "the WMS failed the job before it ran"),
    # --- kills (JobManager, StalledJobAgent), RMS, DataRecoveryAgent ----------------------------------------
    ("Killed", "Marked for termination", ""): (INFRA, "a kill through DIRAC comes from outside the job"),
    ("Failed", "Requests done", ""): (APP, "RMS: a Completed job whose payload failed, requests now done"),
    ("Killed", "Requests done", ""): (INFRA, "RMS: a killed job's requests done; a kill is from outside"),
    ("Failed", "Job forced to Failed", ""): (OUTPUT, "DataRecoveryAgent: a Done job's outputs are missing"),
}


def _classify(status: str, minor: str, application: str) -> tuple[FailureClass, str]:
    job = JobFacts(
        job_id=1,
        status=dirac.sample(status),
        minor_status=dirac.sample(minor),
        application_status=dirac.sample(application),
        site="LCG.Some.where",
    )
    return default_rule_table().classify(job)


@pytest.fixture(scope="module")
def collected() -> dict[tuple[str, str, str], list[str]]:
    return dirac.collected_keys()


def test_job_statuses_are_those_of_dirac():
    assert set(dirac.job_statuses()) == set(JOB_STATUSES)
    classified = {status for status, role in JOB_STATUSES.items() if role.startswith("classified")}
    assert classified == {"Failed", "Killed"}
    assert classified <= JOB_FINAL_STATUSES


def test_minor_status_constants_are_those_of_dirac():
    theirs = set(dirac.minor_status_constants().values())
    new = sorted(theirs - set(MINOR_STATUS_CONSTANTS))
    gone = sorted(set(MINOR_STATUS_CONSTANTS) - theirs)
    assert not new, f"DIRAC has JobMinorStatus values with no deliberate class here: {new}"
    assert not gone, f"JobMinorStatus values no longer in DIRAC: {gone}"


@pytest.mark.parametrize("minor", sorted(MINOR_STATUS_CONSTANTS))
def test_minor_status_constant_is_classified_as_expected(minor):
    expected, reason = MINOR_STATUS_CONSTANTS[minor]
    if expected == WAIT:
        assert minor in RESCHEDULING_MINOR_STATUSES, reason
        return
    got, rule = _classify("Failed", minor, "")
    assert got is expected, f"{minor!r} -> {got} by {rule}, expected {expected}: {reason}"


def test_dirac_messages_are_exactly_the_table(collected):
    new = sorted(set(collected) - set(DIRAC_MESSAGES))
    gone = sorted(set(DIRAC_MESSAGES) - set(collected))
    details = "\n".join(f"  {key!r} set at {', '.join(collected[key])}" for key in new)
    assert not new, f"DIRAC sets failure statuses with no deliberate class here:\n{details}"
    assert not gone, f"no longer set by the installed DIRAC: {gone}"


@pytest.mark.parametrize("key", sorted(DIRAC_MESSAGES), ids=lambda key: " | ".join(part for part in key if part))
def test_dirac_message_is_classified_as_expected(key):
    expected, reason = DIRAC_MESSAGES[key]
    got, rule = _classify(*key)
    assert got is expected, f"{key!r} -> {got} by {rule}, expected {expected}: {reason}"


def test_only_deliberate_entries_are_unknown():
    unknown = {key for key, (cls, _) in DIRAC_MESSAGES.items() if cls is UNKNOWN}
    unknown |= {minor for minor, (cls, _) in MINOR_STATUS_CONSTANTS.items() if cls is UNKNOWN}
    assert unknown == {("Failed", "Execution Complete", ""), "Execution Complete"}


def test_collector_sees_each_kind_of_source(collected):
    """A guard for the collector itself: each way DIRAC sets a failure still yields something."""
    sources = {source.split(":")[0] for sources in collected.values() for source in sources}
    for label in (
        "WorkloadManagementSystem/JobWrapper/JobWrapper.py",
        "WorkloadManagementSystem/JobWrapper/JobWrapperUtilities.py",
        "WorkloadManagementSystem/JobWrapper/Watchdog.py",
        "WorkloadManagementSystem/Agent/JobAgent.py",
        "WorkloadManagementSystem/Agent/PushJobAgent.py",
        "WorkloadManagementSystem/Agent/StalledJobAgent.py",
        "WorkloadManagementSystem/DB/JobDB.py",
        "WorkloadManagementSystem/DB/StatusUtils.py",
        "WorkloadManagementSystem/Executor/Base/OptimizerExecutor.py",
        "RequestManagementSystem/Client/ReqClient.py",
        "TransformationSystem/Utilities/TransformationInfo.py",
    ):
        assert label in sources, label
    assert set(dirac.optimizer_messages()) >= {"InputData", "JobPath", "JobSanity", "JobScheduling"}


def test_sample_fills_placeholders():
    assert dirac.sample("Stalling for more than %d sec") == "Stalling for more than 12345 sec"
    assert dirac.sample("File not at {','.join(sorted(seList))})") == "File not at 12345)"
    assert dirac.sample("Matcher returned null {param}") == "Matcher returned null 12345"

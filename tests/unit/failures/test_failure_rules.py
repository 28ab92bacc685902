"""The rule table: built-in rules on realistic DIRAC strings, CS overrides, bad overrides."""

from __future__ import annotations

import pytest

from CTAODIRAC.Core.Failures import (
    DEFAULT_RULES,
    NO_MATCH_RULE,
    FailureClass,
    JobFacts,
    RuleConfigError,
    build_rule_table,
    classify,
    default_rule_table,
    rule_table_from_cs,
)

F = FailureClass

# (Status, MinorStatus, ApplicationStatus, expected class, expected rule): strings as DIRAC 9.1 sets them.
REALISTIC = [
    ("Failed", "Job stalled: pilot not running", "Unknown", F.INFRASTRUCTURE, "PilotStalled"),
    # dirac-ctao-run-step's exit codes, as DIRAC's workflow reports them (docs/job-side.md)
    ("Failed", "Application Finished With Errors", "'dirac-ctao-run-step' Exited With Status 2", F.INPUT_DATA,
     "RunStepInput"),
    ("Failed", "Application Finished With Errors", "dirac-ctao-run-step Exited With Status 3", F.OUTPUT_UPLOAD,
     "RunStepUpload"),
    ("Failed", "Application Finished With Errors", "'dirac-ctao-run-step' Exited With Status 1", F.APPLICATION,
     "ApplicationErrors"),
    ("Failed", "Application Finished With Errors", "'dirac-ctao-run-step' Exited With Status 4", F.SOFTWARE,
     "RunStepSoftware"),
    ("Failed", "Application not found", "'dirac-ctao-run-step' Exited With Status 4", F.SOFTWARE, "ApplicationNotFound"),
    # dirac-ctao-cwl-run (a CWL job's worker command) uses the same exit codes
    ("Failed", "Application Finished With Errors", "dirac-ctao-cwl-run Exited With Status 2", F.INPUT_DATA,
     "RunStepInput"),
    ("Failed", "Application Finished With Errors", "dirac-ctao-cwl-run Exited With Status 3", F.OUTPUT_UPLOAD,
     "RunStepUpload"),
    ("Failed", "Watchdog identified this job as stalled", "", F.INFRASTRUCTURE, "WatchdogStalled"),
    ("Failed", "Job has reached the CPU limit of the queue", "", F.INFRASTRUCTURE, "CPULimit"),
    ("Failed", "Job has exceeded maximum wall clock time", "", F.INFRASTRUCTURE, "WallClockLimit"),
    ("Failed", "Job has insufficient disk space to continue", "", F.INFRASTRUCTURE, "DiskSpace"),
    ("Failed", "Received Kill signal", "", F.INFRASTRUCTURE, "KillSignal"),
    ("Failed", "Maximum of reschedulings reached", "", F.INFRASTRUCTURE, "MaxReschedulings"),
    ("Failed", "Maximum of reschedulings reached", "Failed Input Data Resolution ", F.INPUT_DATA,
     "ReschedulingsInputData"),
    ("Failed", "Installing Software", "Failed to install software", F.SOFTWARE, "SoftwareSetup"),
    (
        "Failed",
        "Application Finished With Errors",
        "'cta-prod-setup-software' Exited With Status 1",
        F.SOFTWARE,
        "SoftwareSetupStep",
    ),
    ("Failed", "CVMFS repository not available", "", F.SOFTWARE, "CVMFS"),
    (
        "Failed",
        "Application Finished With Errors",
        "Failed to open /cvmfs/ctao.dpps.cern.ch: Transport endpoint is not connected",
        F.SOFTWARE,
        "CVMFSStep",
    ),
    ("Failed", "Apptainer failed to start the container", "", F.SOFTWARE, "Container"),
    ("Failed", "Payload failed", "FATAL: singularity image not found", F.SOFTWARE, "ContainerStep"),
    ("Failed", "Input Data Resolution", "Failed Input Data Resolution ", F.INPUT_DATA, "InputDataResolution"),
    ("Failed", "Input Data Not Available", "", F.INPUT_DATA, "InputDataNotAvailable"),
    ("Failed", "JobScheduling optimizer", "Impossible InputData * Site requirements", F.INPUT_DATA,
     "NoSiteForInputData"),
    ("Failed", "Error downloading input data", "", F.INPUT_DATA, "InputDataDownload"),
    ("Failed", "Failed Downloading InputSandbox", "", F.INPUT_DATA, "InputSandboxDownload"),
    ("Failed", "Failed Downloading InputSandbox LFN(s)", "", F.INPUT_DATA, "InputSandboxDownload"),
    ("Failed", "Uploading Output Data", "", F.OUTPUT_UPLOAD, "OutputDataUpload"),
    ("Failed", "Uploading Outputs", "", F.OUTPUT_UPLOAD, "OutputsUpload"),
    ("Failed", "Failed sending requests", "Job Finished Successfully", F.OUTPUT_UPLOAD, "FailedSendingRequests"),
    ("Failed", "Uploading Output Sandbox", "", F.OUTPUT_UPLOAD, "OutputSandboxUpload"),
    ("Failed", "Execution Complete", "Failed to upload output data", F.OUTPUT_UPLOAD, "OutputUploadStep"),
    ("Failed", "Application Finished With Errors", "", F.APPLICATION, "ApplicationErrors"),
    (
        "Failed",
        "Exception During Execution",
        "'ctapipe-process' Exited With Status 1",
        F.APPLICATION,
        "ApplicationExitStatus",
    ),
    # a missing executable is a missing software set-up, not an application crash (issue 11)
    ("Failed", "Application not found", "", F.SOFTWARE, "ApplicationNotFound"),
    # rules added so that every status DIRAC 9.1 sets on a failed job has a deliberate class; the complete
    # enumeration from the installed DIRAC is test_dirac_failure_messages.py
    ("Failed", "Stalling for more than 22500 sec", "", F.INFRASTRUCTURE, "NoSignOfLife"),
    ("Failed", "Job start time could not be established", "", F.INFRASTRUCTURE, "WatchdogCheck"),
    ("Killed", "Marked for termination", "", F.INFRASTRUCTURE, "MarkedForTermination"),
    ("Failed", "Maximum of reschedulings reached", "Failed Downloading InputSandbox ", F.INPUT_DATA,
     "ReschedulingsInputSandbox"),
    ("Failed", "Maximum of reschedulings reached", "Failed Uploading Outputs ", F.OUTPUT_UPLOAD,
     "ReschedulingsOutputs"),
    ("Failed", "Maximum of reschedulings reached", "Failed software installation", F.SOFTWARE,
     "ReschedulingsSoftware"),
    ("Failed", "InputData optimizer", "Failed to instantiate FileCatalog for vo ctao", F.INFRASTRUCTURE,
     "ServiceUnavailable"),
    ("Failed", "Matcher returned null Owner", "", F.INFRASTRUCTURE, "MatcherReply"),
    ("Failed", "Application thread failed", "", F.SOFTWARE, "ApplicationThreadFailed"),
    ("Failed", "JobScheduling optimizer", "No such file or directory ( 2 : File not at CTAO-SE)", F.INPUT_DATA,
     "InputFileAbsent"),
    ("Failed", "InputData optimizer", "Input data not available", F.INPUT_DATA, "InputDataOptimizer"),
    ("Failed", "Resolving Output Sandbox", "", F.OUTPUT_UPLOAD, "OutputSandboxResolution"),
    ("Failed", "Job forced to Failed", "", F.OUTPUT_UPLOAD, "ForcedFailedByDataRecovery"),
    ("Failed", "Error in JDL syntax", "", F.APPLICATION, "JobDescription"),
    ("Failed", "Pending Requests", "", F.APPLICATION, "FailedWithRequests"),
    ("Failed", "Requests done", "'dirac-ctao-run-step' Exited With Status 3", F.OUTPUT_UPLOAD, "RunStepUpload"),
    ("Failed", "Payload failed", "", F.INFRASTRUCTURE, "WrapperException"),
    ("Failed", "Exception During Execution", "", F.INFRASTRUCTURE, "WrapperException"),
    ("Failed", "Job Wrapper Initialization", "", F.INFRASTRUCTURE, "WrapperStopped"),
    ("Failed", "JobScheduling optimizer", "No possible site candidates", F.INFRASTRUCTURE, "Optimizer"),
    ("Killed", "Requests done", "", F.INFRASTRUCTURE, "Killed"),
]


def _job(status: str, minor: str, application: str, site: str = "LCG.CNAF.it") -> JobFacts:
    return JobFacts(job_id=1, status=status, minor_status=minor, application_status=application, site=site)


@pytest.mark.parametrize(("status", "minor", "application", "expected_class", "expected_rule"), REALISTIC)
def test_default_rules_on_realistic_strings(status, minor, application, expected_class, expected_rule):
    assert classify(_job(status, minor, application)) == (expected_class, expected_rule)


def test_every_default_rule_is_exercised_above():
    assert {row[4] for row in REALISTIC} == set(DEFAULT_RULES)


@pytest.mark.parametrize(
    ("minor", "application"),
    [
        # "Payload failed" was here: DIRAC's JobAgent sets it, it is now infrastructure (WrapperException)
        ("Something no rule knows", ""),
        ("Execution Complete", "'ctapipe-process' Exited With Status 0"),
        ("", ""),
    ],
)
def test_unmatched_is_unknown(minor, application):
    assert classify(_job("Failed", minor, application)) == (F.UNKNOWN, NO_MATCH_RULE)


def test_infrastructure_wins_over_the_exit_status_it_causes():
    # the batch system killed the payload at the CPU limit: exit 137 is a consequence, not an application bug
    job = _job("Failed", "Job has reached the CPU limit of the queue", "'ctapipe-process' Exited With Status 137")
    assert classify(job) == (F.INFRASTRUCTURE, "CPULimit")


def test_matching_ignores_case_and_surrounding_spaces():
    assert classify(_job("failed", "  job STALLED: Pilot Not Running ", "")) == (F.INFRASTRUCTURE, "PilotStalled")


def test_default_table_order_is_by_priority():
    table = default_rule_table()
    priorities = [rule.priority for rule in table.rules]
    assert priorities == sorted(priorities)
    assert table.names[0] == "PilotStalled"
    assert len(table) == len(DEFAULT_RULES)


# ---------------------------------------------------------------------------------------------------- overrides


def test_new_cs_rule_with_status_and_site_is_tried_before_built_ins():
    table = build_rule_table(
        {
            "BrokenSiteScratch": {
                "Class": "infrastructure",
                "Status": "Failed, Killed",
                "Site": "LCG.Broken.xx",
                "MinorStatus": "Application Finished With Errors",
            }
        }
    )
    assert table.names[0] == "BrokenSiteScratch"
    at_broken = _job("Failed", "Application Finished With Errors", "", site="LCG.Broken.xx")
    elsewhere = _job("Failed", "Application Finished With Errors", "", site="LCG.CNAF.it")
    wrong_status = _job("Done", "Application Finished With Errors", "", site="LCG.Broken.xx")
    assert table.classify(at_broken) == (F.INFRASTRUCTURE, "BrokenSiteScratch")
    assert table.classify(elsewhere) == (F.APPLICATION, "ApplicationErrors")
    assert table.classify(wrong_status) == (F.APPLICATION, "ApplicationErrors")


def test_status_and_site_match_whole_values_only():
    table = build_rule_table({"R": {"Class": "software", "Site": "LCG.A.xx"}}, use_defaults=False)
    assert table.classify(_job("Failed", "", "", site="LCG.A.xx")) == (F.SOFTWARE, "R")
    assert table.classify(_job("Failed", "", "", site="LCG.A.xx.yy")) == (F.UNKNOWN, NO_MATCH_RULE)


def test_regex_on_site_and_priority_after_built_ins():
    table = build_rule_table(
        {"SlowSites": {"Class": "infrastructure", "Site": "re:^ARC\\.", "MinorStatus": "Uploading", "Priority": "999"}}
    )
    assert table.names[-1] == "SlowSites"
    # the built-in OutputDataUpload (priority 400) matches first
    assert table.classify(_job("Failed", "Uploading Output Data", "", site="ARC.X.se")) == (
        F.OUTPUT_UPLOAD,
        "OutputDataUpload",
    )
    assert table.classify(_job("Failed", "Uploading something else", "", site="ARC.X.se")) == (
        F.INFRASTRUCTURE,
        "SlowSites",
    )


def test_override_of_a_built_in_changes_only_the_options_given():
    # (the example was ApplicationNotFound -> software until that became the built-in class)
    table = build_rule_table({"Optimizer": {"Class": "software"}})
    rule = table["Optimizer"]
    assert rule.failure_class is F.SOFTWARE
    assert rule.priority == 620  # kept from the built-in
    assert table.classify(_job("Failed", "JobSanity optimizer", "")) == (F.SOFTWARE, "Optimizer")


def test_built_in_rule_can_be_disabled():
    table = build_rule_table({"KillSignal": {"Enabled": "False"}})
    assert "KillSignal" not in table.names
    assert table.classify(_job("Failed", "Received Kill signal", "")) == (F.UNKNOWN, NO_MATCH_RULE)


def test_override_can_replace_a_matcher_with_a_regex():
    table = build_rule_table({"ApplicationExitStatus": {"ApplicationStatus": "re:Exited With Status (1|2)$"}})
    assert table.classify(_job("Failed", "", "'x' Exited With Status 2"))[1] == "ApplicationExitStatus"
    assert table.classify(_job("Failed", "", "'x' Exited With Status 3")) == (F.UNKNOWN, NO_MATCH_RULE)


def test_without_defaults_only_cs_rules_count():
    table = rule_table_from_cs(
        {"UseDefaultRules": "False", "Rules": {"Mine": {"Class": "unknown", "MinorStatus": "stalled"}}}
    )
    assert table.names == ("Mine",)
    assert table.classify(_job("Failed", "Job stalled: pilot not running", "")) == (F.UNKNOWN, "Mine")
    assert table.classify(_job("Failed", "Uploading Output Data", "")) == (F.UNKNOWN, NO_MATCH_RULE)


def test_cs_section_without_rules_gives_defaults():
    assert rule_table_from_cs(None).names == default_rule_table().names
    assert rule_table_from_cs({"PollingTime": "120"}).names == default_rule_table().names


def test_typed_values_are_accepted_too():
    table = build_rule_table(
        {"Typed": {"Class": F.SOFTWARE, "Status": ["Failed"], "MinorStatus": ["foo", "re:ba[rz]"], "Priority": 1}}
    )
    assert table.classify(_job("Failed", "xx baz", ""))[1] == "Typed"
    assert table.classify(_job("Failed", "a foo", ""))[1] == "Typed"


# ---------------------------------------------------------------------------------------------- bad overrides


def _problems(rules, **kwargs) -> RuleConfigError:
    with pytest.raises(RuleConfigError) as info:
        build_rule_table(rules, **kwargs)
    return info.value


def test_unknown_class_is_rejected_with_the_allowed_ones():
    error = _problems({"Mine": {"Class": "infra", "MinorStatus": "x"}})
    assert error.rules == ("Mine",)
    assert "Rules/Mine: Class 'infra' is not one of: infrastructure, software, input-data" in str(error)


def test_misspelt_option_is_rejected():
    error = _problems({"Mine": {"Class": "software", "Minorstatus": "x"}})
    assert "Rules/Mine: unknown option 'Minorstatus'" in str(error)


def test_bad_regex_is_rejected():
    error = _problems({"Mine": {"Class": "software", "MinorStatus": "re:(unclosed"}})
    assert "Rules/Mine: option 'MinorStatus': bad regular expression '(unclosed'" in str(error)


def test_bad_priority_is_rejected():
    error = _problems({"Mine": {"Class": "software", "MinorStatus": "x", "Priority": "high"}})
    assert "Rules/Mine: option 'Priority'" in str(error)
    assert "'high'" in str(error)


def test_new_rule_needs_a_class():
    error = _problems({"Mine": {"MinorStatus": "x"}})
    assert "Rules/Mine: option 'Class' is required" in str(error)


def test_rule_matching_everything_is_rejected():
    error = _problems({"CatchAll": {"Class": "application"}})
    assert "Rules/CatchAll: the rule would match every job" in str(error)
    # emptying the only matcher of a built-in rule makes it a catch-all too
    error = _problems({"CVMFS": {"MinorStatus": ""}})
    assert "Rules/CVMFS: the rule would match every job" in str(error)


def test_rule_that_is_not_a_section_is_rejected():
    error = _problems({"Mine": "infrastructure"})
    assert "Rules/Mine: expected a section" in str(error)


def test_all_problems_are_reported_at_once():
    error = _problems(
        {
            "A": {"Class": "nope", "MinorStatus": "x"},
            "B": {"Class": "software", "Colour": "red"},
            "C": {"Class": "software", "Site": "re:["},
        }
    )
    assert error.rules == ("A", "B", "C")
    assert str(error).startswith("invalid failure rule table (3 problems)")


def test_bad_use_default_rules_and_bad_rules_section():
    with pytest.raises(RuleConfigError, match="UseDefaultRules: expected a boolean, got 'maybe'"):
        rule_table_from_cs({"UseDefaultRules": "maybe"})
    with pytest.raises(RuleConfigError, match="Rules must be a section"):
        rule_table_from_cs({"Rules": "PilotStalled"})


"""The rule table that sorts a failed job into a :class:`FailureClass`.

A rule has a name, a class, a priority and up to four matchers, one per job attribute:

``Status``, ``Site``
    A comma-separated list of values; the attribute must equal one of them (case-insensitive).
``MinorStatus``, ``ApplicationStatus``
    One pattern; the attribute must contain it (case-insensitive substring).

Any value written ``re:<regex>`` is instead a regular expression searched (case-insensitive) in the attribute.
A rule matches a job when every matcher it has matches; rules are tried by ascending ``Priority`` (then by
name) and the first match wins. When none matches the class is ``unknown`` and the rule is ``NoMatch``.

The built-in rules (:data:`DEFAULT_RULES`) are written in the same CS form an operator uses, and go through
the same validation. An operator changes them in the CS section ``Rules/<RuleName>`` of the agent:

- a section named like a built-in rule changes only the options it sets (an empty value removes a matcher);
  ``Enabled = False`` switches the rule off;
- a section with a new name adds a rule; its ``Class`` is required and, without ``Priority``, it is tried
  before every built-in rule (priority :data:`DEFAULT_CUSTOM_PRIORITY`);
- ``UseDefaultRules = False`` drops the built-in rules altogether.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .classes import FailureClass
from .errors import RuleConfigError

__all__ = [
    "DEFAULT_CUSTOM_PRIORITY",
    "DEFAULT_RULES",
    "NO_MATCH_RULE",
    "JobAttributes",
    "Matcher",
    "Rule",
    "RuleSpec",
    "RuleTable",
    "build_rule_table",
    "default_rule_table",
    "rule_table_from_cs",
]

#: Name reported when no rule matched.
NO_MATCH_RULE = "NoMatch"

#: Priority of a rule added in the CS without a ``Priority``: before every built-in rule (they start at 100).
DEFAULT_CUSTOM_PRIORITY = 50

#: Prefix that turns a matcher value into a regular expression.
REGEX_PREFIX = "re:"

#: The built-in rules, in the form the CS gives them (``Rules/<RuleName>/<Option> = <value>``).
DEFAULT_RULES: dict[str, dict[str, str]] = {
    # --- infrastructure: the pilot, the batch system or the worker node --------------------------------
    "PilotStalled": {
        "Class": "infrastructure",
        "MinorStatus": "pilot not running",
        "Priority": "100",
    },
    # DIRAC's StalledJobAgent fails a Stalled job whose pilot still runs but that sent no sign of life for
    # FailedTimeHours: "Stalling for more than <n> sec"
    "NoSignOfLife": {
        "Class": "infrastructure",
        "MinorStatus": "re:^Stalling for more than",
        "Priority": "105",
    },
    "WatchdogStalled": {
        "Class": "infrastructure",
        "MinorStatus": "re:identified (this|the) job as stalled|\\bstalled\\b",
        "Priority": "110",
    },
    "CPULimit": {
        "Class": "infrastructure",
        "MinorStatus": "re:CPU limit|CPU time limit|exceeded .*CPU",
        "Priority": "120",
    },
    "WallClockLimit": {
        "Class": "infrastructure",
        "MinorStatus": "re:wall ?clock",
        "Priority": "130",
    },
    "DiskSpace": {
        "Class": "infrastructure",
        "MinorStatus": "re:disk space|no space left on device|disk quota",
        "Priority": "140",
    },
    # the Watchdog could not measure what it must check (start time, disk space, CPU, load average): DIRAC
    # reports that reason as the MinorStatus of the job it stopped
    "WatchdogCheck": {
        "Class": "infrastructure",
        "MinorStatus": "re:^(Job start time could not be established|Available disk space could not be established"
        "|Missing (WallClockTime|CPUConsumed) info|Job exceeded maximum load average"
        "|Job load average not established)$",
        "Priority": "145",
    },
    "KillSignal": {
        "Class": "infrastructure",
        "MinorStatus": "re:kill(ed)? signal|killed by signal|SIGTERM|SIGKILL",
        "Priority": "150",
    },
    # a kill through DIRAC (operator, owner, StalledJobAgent) sets Killed / "Marked for termination": it came
    # from outside the job, like the Kill signal the Watchdog then receives
    "MarkedForTermination": {
        "Class": "infrastructure",
        "MinorStatus": "Marked for termination",
        "Priority": "151",
    },
    # DIRAC stopped rescheduling a job whose last attempt could not get its input data (the job wrapper set
    # this ApplicationStatus before asking for the reschedule): the cause is the input, not the site
    "ReschedulingsInputData": {
        "Class": "input-data",
        "MinorStatus": "Maximum of reschedulings reached",
        "ApplicationStatus": "re:^Failed Input Data Resolution",
        "Priority": "155",
    },
    "ReschedulingsInputSandbox": {
        "Class": "input-data",
        "MinorStatus": "Maximum of reschedulings reached",
        "ApplicationStatus": "re:^Failed Downloading InputSandbox",
        "Priority": "156",
    },
    "ReschedulingsOutputs": {
        "Class": "output-upload",
        "MinorStatus": "Maximum of reschedulings reached",
        "ApplicationStatus": "re:^Failed Uploading Outputs",
        "Priority": "157",
    },
    # the JobAgent's software installation (the VO's SoftwareDistModule) failed on the last attempt
    "ReschedulingsSoftware": {
        "Class": "software",
        "MinorStatus": "Maximum of reschedulings reached",
        "ApplicationStatus": "re:software",
        "Priority": "158",
    },
    "MaxReschedulings": {
        "Class": "infrastructure",
        "MinorStatus": "Maximum of reschedulings reached",
        "Priority": "160",
    },
    # DIRAC could not get a service it needs to place the job (the data manager or catalog of the VO), or the
    # JobAgent got an incomplete answer from the Matcher: the system, not the job
    "ServiceUnavailable": {
        "Class": "infrastructure",
        "ApplicationStatus": "re:^Failed to instantiate (DataManager|FileCatalog)",
        "Priority": "170",
    },
    "MatcherReply": {
        "Class": "infrastructure",
        "MinorStatus": "re:^Matcher (did not return|returned null) ",
        "Priority": "175",
    },
    # --- software: software setup, CVMFS, containers, the executable itself -----------------------------
    "SoftwareSetup": {
        "Class": "software",
        "MinorStatus": "re:software",
        "Priority": "200",
    },
    "SoftwareSetupStep": {
        "Class": "software",
        "ApplicationStatus": "re:setup[-_ ]?software|software (setup|install)|install(ing)? software",
        "Priority": "210",
    },
    "CVMFS": {
        "Class": "software",
        "MinorStatus": "cvmfs",
        "Priority": "220",
    },
    "CVMFSStep": {
        "Class": "software",
        "ApplicationStatus": "cvmfs",
        "Priority": "230",
    },
    "Container": {
        "Class": "software",
        "MinorStatus": "re:apptainer|singularity|container",
        "Priority": "240",
    },
    "ContainerStep": {
        "Class": "software",
        "ApplicationStatus": "re:apptainer|singularity|container",
        "Priority": "250",
    },
    # DIRAC's job wrapper found no executable (none in the job, or not at the path given): the software is
    # missing where the job runs, the application never started
    "ApplicationNotFound": {
        "Class": "software",
        "MinorStatus": "Application not found",
        "Priority": "260",
    },
    # dirac-ctao-run-step exits 4 when the step's program or software area is not on the worker (nothing ran)
    "RunStepSoftware": {
        "Class": "software",
        "ApplicationStatus": "re:'?dirac-ctao-run-step'? Exited With Status 4$",
        "Priority": "265",
    },
    # the wrapper could not run the payload's process at all (DIRAC's systemCall failed: interpreter or
    # executable format): the software set-up, not a crash of the application
    "ApplicationThreadFailed": {
        "Class": "software",
        "MinorStatus": "Application thread failed",
        "Priority": "270",
    },
    # --- input data ------------------------------------------------------------------------------------
    "InputDataResolution": {
        "Class": "input-data",
        "MinorStatus": "Input Data Resolution",
        "Priority": "300",
    },
    "InputDataNotAvailable": {
        "Class": "input-data",
        "MinorStatus": "Input Data Not Available",
        "Priority": "310",
    },
    # the JobScheduling optimizer found no allowed site near the input data (e.g. every site holding it is
    # banned for the job): the job never reached a pilot
    "NoSiteForInputData": {
        "Class": "input-data",
        "MinorStatus": "JobScheduling optimizer",
        "ApplicationStatus": "re:^(Impossible InputData \\* Site requirements|Site candidates do not have all the "
        "input data|Stage not allowed|Cannot find tape replicas)",
        "Priority": "315",
    },
    # DIRAC's JobScheduling optimizer fails a production job whose input file is not in the catalog or has
    # no replica at any SE: "No such file or directory ( 2 : File not in FC)" / "( 2 : File not at <SEs>)"
    "InputFileAbsent": {
        "Class": "input-data",
        "MinorStatus": "JobScheduling optimizer",
        "ApplicationStatus": "re:No such file or directory|File not (in FC|at )",
        "Priority": "316",
    },
    # DIRAC's InputData optimizer found no replica, or no site holding all of them
    "InputDataOptimizer": {
        "Class": "input-data",
        "MinorStatus": "re:^(InputData optimizer|No candidate sites available)$",
        "Priority": "317",
    },
    "InputDataDownload": {
        "Class": "input-data",
        "MinorStatus": "re:download(ing)? (of )?input ?data|input ?data download",
        "Priority": "320",
    },
    "InputSandboxDownload": {
        "Class": "input-data",
        "MinorStatus": "Downloading InputSandbox",
        "Priority": "330",
    },
    # dirac-ctao-run-step (the job side of CTAODIRAC productions) and dirac-ctao-cwl-run (of CWL jobs) exit 2
    # when an input, configuration or model file is missing; DIRAC's workflow then reports only the exit status
    "RunStepInput": {
        "Class": "input-data",
        "ApplicationStatus": "re:'?dirac-ctao-(run-step|cwl-run)'? Exited With Status 2$",
        "Priority": "340",
    },
    # --- output upload ---------------------------------------------------------------------------------
    "OutputDataUpload": {
        "Class": "output-upload",
        "MinorStatus": "Uploading Output Data",
        "Priority": "400",
    },
    "OutputsUpload": {
        "Class": "output-upload",
        "MinorStatus": "Uploading Outputs",
        "Priority": "410",
    },
    "FailedSendingRequests": {
        "Class": "output-upload",
        "MinorStatus": "Failed sending requests",
        "Priority": "420",
    },
    "OutputSandboxUpload": {
        "Class": "output-upload",
        "MinorStatus": "Uploading Output Sandbox",
        "Priority": "430",
    },
    "OutputSandboxResolution": {
        "Class": "output-upload",
        "MinorStatus": "Resolving Output Sandbox",
        "Priority": "435",
    },
    # DIRAC's DataRecoveryAgent fails a Done job whose outputs are missing (or whose input another task
    # processed); it sets the files itself
    "ForcedFailedByDataRecovery": {
        "Class": "output-upload",
        "MinorStatus": "Job forced to Failed",
        "Priority": "445",
    },
    "OutputUploadStep": {
        "Class": "output-upload",
        "ApplicationStatus": "re:fail(ed|ure)? (to )?upload|upload(ing)? (of )?output.*fail",
        "Priority": "440",
    },
    # dirac-ctao-run-step exits 3 when an output could be neither stored nor put in a failover request
    "RunStepUpload": {
        "Class": "output-upload",
        "ApplicationStatus": "re:'?dirac-ctao-(run-step|cwl-run)'? Exited With Status 3$",
        "Priority": "450",
    },
    # --- application: the payload's own failure --------------------------------------------------------
    "ApplicationErrors": {
        "Class": "application",
        "MinorStatus": "Application Finished With Errors",
        "Priority": "500",
    },
    "ApplicationExitStatus": {
        "Class": "application",
        "ApplicationStatus": "re:Exited With Status -?[1-9][0-9]*",
        "Priority": "510",
    },
    # a job whose description DIRAC cannot read (JDL syntax, no JobID): a new task gets the same description
    "JobDescription": {
        "Class": "application",
        "MinorStatus": "re:JDL",
        "Priority": "520",
    },
    # the job wrapper ends a failed payload Failed and its MinorStatus says only that requests were sent
    # (or done, after the RMS): the payload did not succeed; the exit status rules above go first
    "FailedWithRequests": {
        "Class": "application",
        "Status": "Failed",
        "MinorStatus": "re:^(Pending Requests|Requests done)$",
        "Priority": "530",
    },
    # --- infrastructure after all: the wrapper or the pilot stopped without a reason of its own ----------
    # an exception in DIRAC's job wrapper, or the wrapper process ending while the job still ran (the
    # JobAgent's "Payload failed"); an exit status in ApplicationStatus goes first (application rules above)
    "WrapperException": {
        "Class": "infrastructure",
        "MinorStatus": "re:^(Exception During Execution|Payload failed)$",
        "Priority": "600",
    },
    # the job failed while its MinorStatus still named a step DIRAC was in: nothing reported a reason, the
    # job wrapper or its pilot stopped there
    "WrapperStopped": {
        "Class": "infrastructure",
        "MinorStatus": "re:^(Application|Job Initialization|Job Wrapper Initialization|JobWrapper execution"
        "|Application thread did not complete|Application Finished Successfully|Output Sandbox Uploaded"
        "|Output Data Uploaded|Pilot Agent Submission)$",
        "Priority": "610",
    },
    # an optimizer (JobPath, JobSanity, JobScheduling, or a VO's own) failed the job before any pilot took
    # it, with a reason not matched above (no site to run at, a WMS database error)
    "Optimizer": {
        "Class": "infrastructure",
        "MinorStatus": "re:^\\w+ optimizer$",
        "Priority": "620",
    },
    # any other Killed job (e.g. "Requests done" once the RMS finished the requests of a killed job)
    "Killed": {
        "Class": "infrastructure",
        "Status": "Killed",
        "Priority": "630",
    },
}

_MATCHER_OPTIONS = ("Status", "MinorStatus", "ApplicationStatus", "Site")
_LIST_OPTIONS = frozenset({"Status", "Site"})


class JobAttributes(Protocol):
    """What a rule looks at: the job attributes kept in DIRAC's JobDB."""

    @property
    def status(self) -> str: ...

    @property
    def minor_status(self) -> str: ...

    @property
    def application_status(self) -> str: ...

    @property
    def site(self) -> str: ...


@dataclass(frozen=True)
class Matcher:
    """One condition on one job attribute: any of its alternatives must match.

    Attributes
    ----------
    values:
        The alternatives as written (``re:`` prefix kept), for display.
    whole:
        True: a plain alternative must equal the attribute; False: it must be contained in it.
    """

    values: tuple[str, ...]
    whole: bool
    _compiled: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, values: Iterable[str], *, whole: bool) -> Matcher:
        """Compile the alternatives; raise ``ValueError`` naming a bad regular expression."""
        values = tuple(values)
        compiled = []
        for value in values:
            if value.startswith(REGEX_PREFIX):
                expression = value[len(REGEX_PREFIX) :]
                if not expression:
                    raise ValueError(f"empty regular expression in {value!r}")
                try:
                    compiled.append(re.compile(expression, re.IGNORECASE))
                except re.error as exc:
                    raise ValueError(f"bad regular expression {expression!r}: {exc}") from exc
            elif whole:
                compiled.append(re.compile(rf"\A{re.escape(value)}\Z", re.IGNORECASE))
            else:
                compiled.append(re.compile(re.escape(value), re.IGNORECASE))
        return cls(values=values, whole=whole, _compiled=tuple(compiled))

    def matches(self, text: str | None) -> bool:
        """Whether the attribute value ``text`` (None counts as empty) matches one alternative."""
        text = (text or "").strip()
        return any(pattern.search(text) for pattern in self._compiled)


def _split(value: Any, *, as_list: bool) -> Any:
    """CS strings to tuples: comma-separated for list options, one pattern otherwise; '' means no matcher."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return ()
        if as_list:
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(part).strip() for part in value if str(part).strip())
    return value


class RuleSpec(BaseModel):
    """One rule as configured in the CS (``Rules/<RuleName>``); the names of the fields are the CS options."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    failure_class: FailureClass = Field(alias="Class")
    """The class given to a job this rule matches: infrastructure, software, input-data, output-upload,
    application or unknown."""
    status: tuple[str, ...] = Field(default=(), alias="Status")
    """Job Status values (comma-separated, whole value, case-insensitive; ``re:`` for a regex). Empty: any."""
    minor_status: tuple[str, ...] = Field(default=(), alias="MinorStatus")
    """A substring of the job's MinorStatus (case-insensitive; ``re:`` for a regex). Empty: any."""
    application_status: tuple[str, ...] = Field(default=(), alias="ApplicationStatus")
    """A substring of the job's ApplicationStatus (case-insensitive; ``re:`` for a regex). Empty: any."""
    site: tuple[str, ...] = Field(default=(), alias="Site")
    """Site names (comma-separated, whole value, case-insensitive; ``re:`` for a regex). Empty: any."""
    priority: int = Field(default=DEFAULT_CUSTOM_PRIORITY, alias="Priority")
    """Rules are tried by ascending priority, then by name; the first match wins."""
    enabled: bool = Field(default=True, alias="Enabled")
    """False switches the rule off (useful to drop one built-in rule)."""

    @field_validator("status", "site", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return _split(value, as_list=True)

    @field_validator("minor_status", "application_status", mode="before")
    @classmethod
    def _split_pattern(cls, value: Any) -> Any:
        return _split(value, as_list=False)

    @field_validator("failure_class", mode="before")
    @classmethod
    def _normalise_class(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("priority", mode="before")
    @classmethod
    def _strip_priority(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


@dataclass(frozen=True)
class Rule:
    """A validated, compiled rule."""

    name: str
    failure_class: FailureClass
    priority: int
    status: Matcher | None = None
    minor_status: Matcher | None = None
    application_status: Matcher | None = None
    site: Matcher | None = None

    def matches(self, job: JobAttributes) -> bool:
        """Whether every matcher of the rule matches the job."""
        checks = (
            (self.status, job.status),
            (self.minor_status, job.minor_status),
            (self.application_status, job.application_status),
            (self.site, job.site),
        )
        return all(matcher.matches(value) for matcher, value in checks if matcher is not None)

    def describe(self) -> dict[str, str]:
        """The rule in CS form (``Class``, matchers, ``Priority``), for display and documentation."""
        out = {"Class": self.failure_class.value}
        for option, matcher in zip(
            _MATCHER_OPTIONS, (self.status, self.minor_status, self.application_status, self.site), strict=True
        ):
            if matcher is not None:
                out[option] = ", ".join(matcher.values)
        out["Priority"] = str(self.priority)
        return out


@dataclass(frozen=True)
class RuleTable:
    """An ordered set of rules; :meth:`classify` returns the class of the first rule that matches."""

    rules: tuple[Rule, ...]

    def classify(self, job: JobAttributes) -> tuple[FailureClass, str]:
        """The failure class of ``job`` and the name of the rule that decided it.

        Returns ``(FailureClass.UNKNOWN, NO_MATCH_RULE)`` when no rule matches.
        """
        for rule in self.rules:
            if rule.matches(job):
                return rule.failure_class, rule.name
        return FailureClass.UNKNOWN, NO_MATCH_RULE

    @property
    def names(self) -> tuple[str, ...]:
        """Rule names in the order they are tried."""
        return tuple(rule.name for rule in self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)


def _to_cs_dict(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a section (Rules/{name}/<Option> = <value>), got the option value {value!r}")
    return {str(key).strip(): item for key, item in value.items()}


def _describe_error(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"unknown option {location!r} (known: Class, {', '.join(_MATCHER_OPTIONS)}, Priority, Enabled)"
    if kind == "missing":
        return f"option {location!r} is required"
    if location == "Class":
        allowed = ", ".join(member.value for member in FailureClass)
        return f"Class {error.get('input')!r} is not one of: {allowed}"
    return f"option {location!r}: {error.get('msg', 'invalid')} (got {error.get('input')!r})"


def build_rule_table(rules: Mapping[str, Any] | None = None, *, use_defaults: bool = True) -> RuleTable:
    """Build and validate a rule table from CS-shaped rules merged over the built-in ones.

    Parameters
    ----------
    rules:
        The content of the CS section ``Rules``: rule name to a mapping of options (strings as the CS gives
        them, or already typed values). None or empty: no change to the built-in rules.
    use_defaults:
        False drops the built-in rules; only ``rules`` are used.

    Raises
    ------
    RuleConfigError
        Listing every problem found (unknown option, bad class, bad priority, bad regular expression, a rule
        that would match every job, a rule name that is not a section).
    """
    merged: dict[str, dict[str, Any]] = {}
    if use_defaults:
        merged = {name: dict(options) for name, options in DEFAULT_RULES.items()}
    problems: list[tuple[str, str]] = []
    for raw_name, section in (rules or {}).items():
        name = str(raw_name).strip()
        if not name:
            problems.append(("", "a rule has an empty name"))
            continue
        try:
            options = _to_cs_dict(name, section)
        except TypeError as exc:
            problems.append((name, str(exc)))
            continue
        merged.setdefault(name, {}).update(options)

    compiled: list[Rule] = []
    for name, options in merged.items():
        try:
            spec = RuleSpec.model_validate(options)
        except ValidationError as exc:
            problems.extend((name, _describe_error(error)) for error in exc.errors())
            continue
        if not spec.enabled:
            continue
        matchers: dict[str, Matcher | None] = {}
        for option, field in zip(
            _MATCHER_OPTIONS, ("status", "minor_status", "application_status", "site"), strict=True
        ):
            values = getattr(spec, field)
            if not values:
                matchers[field] = None
                continue
            try:
                matchers[field] = Matcher.build(values, whole=option in _LIST_OPTIONS)
            except ValueError as exc:
                problems.append((name, f"option {option!r}: {exc}"))
                matchers[field] = None
        if not any(getattr(spec, field) for field in ("status", "minor_status", "application_status", "site")):
            problems.append(
                (name, f"the rule would match every job: give at least one of {', '.join(_MATCHER_OPTIONS)}")
            )
            continue
        compiled.append(Rule(name=name, failure_class=spec.failure_class, priority=spec.priority, **matchers))
    if problems:
        raise RuleConfigError(problems)
    compiled.sort(key=lambda rule: (rule.priority, rule.name))
    return RuleTable(rules=tuple(compiled))


def rule_table_from_cs(section: Mapping[str, Any] | None) -> RuleTable:
    """Build the rule table from the agent's CS section (``UseDefaultRules`` and the ``Rules`` subsection).

    ``section`` is the agent's section as a nested dict of strings (as ``gConfig.getOptionsDictRecursively``
    gives it); None means no CS (offline): the built-in rules.
    """
    if not section:
        return default_rule_table()
    raw_use = section.get("UseDefaultRules", True)
    if isinstance(raw_use, str):
        text = raw_use.strip().lower()
        if text not in {"true", "false", "yes", "no", "1", "0", "on", "off", "y", "n"}:
            raise RuleConfigError([("", f"UseDefaultRules: expected a boolean, got {raw_use!r}")])
        use_defaults = text in {"true", "yes", "1", "on", "y"}
    else:
        use_defaults = bool(raw_use)
    rules = section.get("Rules")
    if rules is not None and not isinstance(rules, Mapping):
        raise RuleConfigError([("", f"Rules must be a section of rule sections, got the option value {rules!r}")])
    return build_rule_table(rules, use_defaults=use_defaults)


_DEFAULT_TABLE: RuleTable | None = None


def default_rule_table() -> RuleTable:
    """The built-in rule table (built once)."""
    global _DEFAULT_TABLE
    if _DEFAULT_TABLE is None:
        _DEFAULT_TABLE = build_rule_table(None)
    return _DEFAULT_TABLE

"""Classify one job's failure with the failure-management rule table.

Give the job's Status, MinorStatus and ApplicationStatus (and Site, for rules that look at it); the command
prints the failure class and the rule that matched. It uses the rules of the CS when a DIRAC is configured and
the built-in rules offline; it needs no proxy.

Examples:

\b
  dirac-ctao-failure-classify --status Failed \\
      --minor-status "Job stalled: pilot not running" --application-status ""
  dirac-ctao-failure-classify --status Failed --json \\
      --minor-status "Application Finished With Errors" \\
      --application-status "'ctapipe-process' Exited With Status 1"

Exit codes: 0 classified, 2 bad usage or bad rule configuration.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from CTAODIRAC.Core.exitcodes import EXIT_BAD_INPUT
from CTAODIRAC.Utilities.cli import error_console, failures_reported
from CTAODIRAC.Core.Failures.errors import RuleConfigError
from CTAODIRAC.Core.Failures.facts import JobFacts
from CTAODIRAC.Core.Failures.rules import NO_MATCH_RULE, rule_table_from_cs
from CTAODIRAC.Core.Failures.statuses import JobStatus

__all__ = ["app", "dirac_configured", "get_cs_rules", "main"]

COMMAND = "dirac-ctao-failure-classify"
#: The agent whose CS section holds the rule table.
AGENT = "Transformation/FailureManagementAgent"
EXIT_USAGE = EXIT_BAD_INPUT

_JOB_STATUSES = {
    value.lower(): value for name, value in vars(JobStatus).items() if name.isupper() and isinstance(value, str)
}


def get_cs_rules() -> Mapping[str, Any] | None:
    """The agent's CS section (``UseDefaultRules`` and the ``Rules`` subsection) as a nested dict.

    This is the seam for reading the configured rules: it returns None offline (no DIRAC configured), and the
    built-in rules are used. It does not import DIRAC when no DIRAC is configured (no ``DIRACSYSCONFIG``, no
    ``~/.dirac.cfg``, no ``etc/dirac.cfg`` under ``DIRAC_ROOT_PATH`` or the Python prefix). With a DIRAC
    configured it reads ``/Systems/Transformation/<Instance>/Agents/FailureManagementAgent`` without needing a
    proxy; when the section does not exist (the agent is not configured), it returns None.
    """
    if not dirac_configured():
        return None
    import DIRAC

    DIRAC.initialize(require_auth=False)
    from DIRAC import gConfig
    from DIRAC.ConfigurationSystem.Client.PathFinder import getAgentSection

    section = gConfig.getOptionsDictRecursively(getAgentSection(AGENT))
    return section["Value"] if section["OK"] else None


def dirac_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a DIRAC configuration is there to read (the places DIRAC's LocalConfiguration looks)."""
    environ = os.environ if environ is None else environ
    if environ.get("DIRACSYSCONFIG"):
        return True
    if Path("~/.dirac.cfg").expanduser().is_file():
        return True
    root = environ.get("DIRAC_ROOT_PATH") or sys.base_prefix
    return (Path(root) / "etc" / "dirac.cfg").is_file()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"{COMMAND}: error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
def classify(
    status: Annotated[str, typer.Option("--status", help="The job's Status, e.g. Failed.")],
    minor_status: Annotated[str, typer.Option("--minor-status", help="The job's MinorStatus (may be empty).")],
    application_status: Annotated[
        str, typer.Option("--application-status", help="The job's ApplicationStatus (may be empty).")
    ],
    site: Annotated[str, typer.Option("--site", help="The job's Site.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help='Print only {"class": ..., "rule": ...} as JSON.')] = False,
) -> None:
    """Classify one job's failure."""
    with failures_reported(error_console()):
        _classify(status, minor_status, application_status, site, as_json)


def _classify(status: str, minor_status: str, application_status: str, site: str, as_json: bool) -> None:
    canonical_status = _JOB_STATUSES.get(status.strip().lower())
    if canonical_status is None:
        raise _fail(f"--status {status!r} is not a DIRAC job status (one of: {', '.join(_JOB_STATUSES.values())})")
    try:
        table = rule_table_from_cs(get_cs_rules())
    except RuleConfigError as exc:
        raise _fail(str(exc)) from None
    job = JobFacts(
        job_id=0,
        status=canonical_status,
        minor_status=minor_status,
        application_status=application_status,
        site=site.strip(),
    )
    failure_class, rule_name = table.classify(job)
    if as_json:
        sys.stdout.write(json.dumps({"class": failure_class.value, "rule": rule_name}) + "\n")
        return
    typer.echo(f"class: {failure_class.value}")
    if rule_name == NO_MATCH_RULE:
        typer.echo(f"rule:  {rule_name} (no rule matched)")
        return
    definition = ", ".join(f"{option} = {value}" for option, value in table[rule_name].describe().items())
    typer.echo(f"rule:  {rule_name} ({definition})")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``dirac-ctao-failure-classify``; exits with the command's exit code."""
    app(args=list(argv) if argv is not None else None, prog_name=COMMAND)


if __name__ == "__main__":
    main()

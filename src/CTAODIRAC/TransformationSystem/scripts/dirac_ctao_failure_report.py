"""Show what the failure-management agent decided: a summary per transformation, then the decisions.

Reads the decisions from the FailureManagement service (Transformation/FailureManagement); needs a proxy.

Usage:
  dirac-ctao-failure-report [--transformation ID[,ID]] [--production ID] [--class C] [--site S]
                            [--since YYYY-MM-DD[ HH:MM:SS] | --since 24h] [--limit N] [--summary] [--json]

Examples:
  dirac-ctao-failure-report --transformation 1234
  dirac-ctao-failure-report --production 12 --class software --since 48h --json

Exit codes: 0 success, 1 the service could not be reached or failed, 2 bad usage.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from DIRAC.Core.Base.Script import Script

from CTAODIRAC.Core.errors import CTAODIRACError
from CTAODIRAC.Core.exitcodes import EXIT_BAD_INPUT, EXIT_FAILED
from CTAODIRAC.Utilities.cli import run_command
from CTAODIRAC.Core.Failures.classes import FailureClass

__all__ = ["main", "parse_filters"]

EXIT_USAGE = EXIT_BAD_INPUT

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class UsageError(CTAODIRACError, ValueError):
    """A bad command-line value."""


def _ids(text: str, what: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--{what} expects IDs separated by commas, got {text!r}") from None


def parse_since(text: str, now: datetime | None = None) -> str:
    """``--since``: a date, a date and time (UTC), or a duration back from now (``90m``, ``24h``, ``7d``)."""
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return ((now or datetime.now(UTC)) - delta).strftime("%Y-%m-%d %H:%M:%S")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    raise UsageError(f"--since expects YYYY-MM-DD[ HH:MM[:SS]] (UTC) or a duration like 24h, got {text!r}")


def parse_filters(switches: dict[str, str]) -> dict[str, Any]:
    """The service filters from the command's switches (raises :class:`UsageError`)."""
    filters: dict[str, Any] = {}
    if switches.get("transformation"):
        filters["TransformationID"] = _ids(switches["transformation"], "transformation")
    if switches.get("production"):
        filters["ProductionID"] = _ids(switches["production"], "production")
    if switches.get("class"):
        classes = [part.strip().lower() for part in switches["class"].split(",") if part.strip()]
        known = {c.value for c in FailureClass}
        bad = [c for c in classes if c not in known]
        if bad:
            raise UsageError(f"--class {', '.join(bad)}: not one of {', '.join(sorted(known))}")
        filters["Class"] = classes
    if switches.get("site"):
        filters["Site"] = [part.strip() for part in switches["site"].split(",") if part.strip()]
    if switches.get("since"):
        filters["Since"] = parse_since(switches["since"])
    return filters


@Script()
def main() -> None:
    run_command(_report)


def _report() -> None:
    switches: dict[str, str] = {}

    def keep(name: str):
        def setter(value: str) -> dict[str, Any]:
            from DIRAC import S_OK

            switches[name] = value
            return S_OK()

        return setter

    Script.registerSwitch("", "transformation=", "only these transformations (IDs, comma-separated)", keep("transformation"))
    Script.registerSwitch("", "production=", "only the transformations of these productions", keep("production"))
    Script.registerSwitch("", "class=", "only failures of these classes (comma-separated)", keep("class"))
    Script.registerSwitch("", "site=", "only failures at these sites (comma-separated)", keep("site"))
    Script.registerSwitch("", "since=", "only decisions since: YYYY-MM-DD[ HH:MM[:SS]] (UTC) or 24h, 7d", keep("since"))
    Script.registerSwitch("", "limit=", "at most this many decisions (default 200)", keep("limit"))
    Script.registerSwitch("", "summary", "only the summary per transformation", keep("summary"))
    Script.registerSwitch("", "json", "print JSON: {summary: [...], decisions: [...]}", keep("json"))
    Script.parseCommandLine(ignoreErrors=False)

    from DIRAC import gLogger

    from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient
    from CTAODIRAC.TransformationSystem.Utilities.FailureReport import (
        decisions_table,
        summary_rows,
        summary_table,
        to_json_rows,
    )

    try:
        filters = parse_filters(switches)
        limit = int(switches.get("limit") or 200)
    except (UsageError, ValueError) as exc:
        gLogger.error(f"dirac-ctao-failure-report: {exc}")
        sys.exit(EXIT_USAGE)

    client = FailureManagementClient()
    summary = client.getSummary(filters)
    if not summary["OK"]:
        gLogger.error("Cannot read the failure-management summary", summary["Message"])
        sys.exit(EXIT_FAILED)
    rows = summary_rows(summary["Value"])
    decisions: list[dict[str, Any]] = []
    if "summary" not in switches:
        result = client.getDecisions(filters, limit)
        if not result["OK"]:
            gLogger.error("Cannot read the failure-management decisions", result["Message"])
            sys.exit(EXIT_FAILED)
        decisions = result["Value"]

    if "json" in switches:
        sys.stdout.write(json.dumps({"summary": rows, "decisions": to_json_rows(decisions)}, default=str) + "\n")
        return
    if not rows:
        print("No decisions match.")
        return
    print(summary_table(rows))
    if decisions:
        print()
        print(decisions_table(decisions))
        if len(decisions) >= limit:
            print(f"(the newest {limit} decisions; --limit N for more)")


if __name__ == "__main__":
    main()

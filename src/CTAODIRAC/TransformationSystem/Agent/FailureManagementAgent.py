"""FailureManagementAgent: finds out why jobs of transformations failed and acts as an expert shifter would.

Run as ``dirac-agent Transformation/FailureManagementAgent``; options in the system's ``ConfigTemplate.cfg``
(``ReportOnly = True`` by default: decisions are recorded, nothing in DIRAC changes). See
``docs/failure-management.md``.

Each cycle:

1. re-reads its options and rule table from the CS (typed: ``FailureAgentOptions``, ``RuleTable``);
2. finishes the decisions a previous cycle or a dead agent recorded but did not apply;
3. gathers in bulk what changed since the high-water mark kept in FailureManagementDB
   (``Utilities.FailureFacts``);
4. asks the pure policy (``CTAODIRAC.Core.Failures.decide``) what to do;
5. records each decision once and applies what it recorded (``Utilities.FailureActions``);
6. logs a summary per transformation, and mails a digest when something new was decided (``MailTo``);
7. sends its decisions and the transformations' file counts to DIRAC's Monitoring system (types
   ``FailureDecisions`` and ``ProductionProgress``; ``docs/monitoring.md``); what cannot be sent waits in a file
   of its work directory for a later cycle, and a failed send never fails the cycle.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from DIRAC import S_ERROR, S_OK, gConfig
from DIRAC.ConfigurationSystem.Client.Helpers.Operations import Operations
from DIRAC.Core.Base.AgentModule import AgentModule
from DIRAC.Core.Utilities.ReturnValues import SErrorException, returnValueOrRaise
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
from DIRAC.ProductionSystem.DB.ProductionDB import ProductionDB
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

from CTAODIRAC.Core.Failures.errors import FailureError
from CTAODIRAC.Core.Failures.options import FailureAgentOptions
from CTAODIRAC.Core.Failures.policy import decide
from CTAODIRAC.Core.Failures.rules import rule_table_from_cs
from CTAODIRAC.Core.Monitoring import (
    DECISIONS_TYPE,
    PROGRESS_TYPE,
    TransformationInfo,
    decision_records,
    progress_records,
)
from CTAODIRAC.TransformationSystem.DB.FailureManagementDB import FailureManagementDB
from CTAODIRAC.TransformationSystem.Utilities.FailureActions import Actions, Outcome, describe_times
from CTAODIRAC.TransformationSystem.Utilities.FailureFacts import DiracSources, Gathered, gather, parse_time
from CTAODIRAC.TransformationSystem.Utilities.FailureMonitoring import PENDING_FILE, MonitoringSender
from CTAODIRAC.TransformationSystem.Utilities.FailureReport import cycle_summary_lines

__all__ = ["FailureManagementAgent"]

#: Name of the high-water mark in ``FMState`` (one per agent name).
HIGH_WATER_STATE = "HighWater/{agent}"


class FailureManagementAgent(AgentModule):
    """Classify failed jobs of transformations, retry or give up their files, move transformations on."""

    def initialize(self) -> dict[str, Any]:
        self.db = FailureManagementDB(parentLogger=self.log)
        self.transformations = TransformationClient()
        self.jobs = JobMonitoringClient()
        self.productions = ProductionClient()
        self.production_db = ProductionDB(parentLogger=self.log)
        self.agent_name = self.am_getModuleParam("fullName")
        self.input_limits: dict[int, int | None] = {}  # transformation to its input_limit: each body read once
        # transformation to its (input, output) meta-queries, to find parents in other productions: each read once
        self.meta_queries: dict[int, tuple[dict, dict]] = {}
        # monitoring: records not sent wait in the work directory; the transformations of the last progress records
        self.monitoring = MonitoringSender(os.path.join(self.am_getWorkDirectory(), PENDING_FILE))
        self.progress_of: dict[int, TransformationInfo] = {}
        return S_OK()

    def execute(self) -> dict[str, Any]:
        try:
            self.cycle()
        except FailureError as exc:
            self.log.error("Invalid configuration, nothing done in this cycle", str(exc))
            return S_ERROR(str(exc))
        except SErrorException as exc:
            self.log.error("Cycle failed; the next cycle starts again from the same high-water mark", str(exc))
            return S_ERROR(str(exc))
        return S_OK()

    def read_options(self) -> tuple[FailureAgentOptions, Any]:
        """The options and rule table of this cycle, from the agent's CS section."""
        section = returnValueOrRaise(gConfig.getOptionsDictRecursively(self.am_getModuleParam("section")))
        return FailureAgentOptions.from_cs(section), rule_table_from_cs(section)

    def cycle(self) -> Outcome:
        """One cycle; raises on configuration or DIRAC errors (nothing is half-recorded: see FailureActions)."""
        started = time.monotonic()
        options, rules = self.read_options()
        now = datetime.now(UTC)
        sources = DiracSources(self.transformations, self.jobs, self.productions, self.production_db, Operations(),
                               limits=self.input_limits, queries=self.meta_queries)
        actions = Actions(self.db, self.transformations, self.productions, self.log, jobs=self.jobs)
        outcome = Outcome()

        if not options.report_only:
            recovered = actions.recover()
            if recovered:
                self.log.notice("Finishing decisions recorded but not applied", f"({len(recovered)})")
                actions.apply(recovered, outcome)
                outcome.recovered = len(recovered)

        state_name = HIGH_WATER_STATE.format(agent=self.agent_name)
        high_water = parse_time(self.db.get_state(state_name))
        gathered = gather(sources, self.db, options, now, high_water)
        decisions = decide(gathered.facts, options, rules, gathered.recorded_keys)
        try:
            owned = actions.record(
                decisions, report_only=options.report_only, expected_status=gathered.expected_status, outcome=outcome
            )
            self.log.notice(
                f"Recorded {len(outcome.recorded)} decisions ({outcome.duplicates} groups already recorded elsewhere)",
                f"applying {len(owned)}" if not options.report_only else "report-only: nothing applied",
            )
            if owned:
                actions.apply(owned, outcome)
            if gathered.high_water is not None:
                self.db.set_state(state_name, describe_times(gathered.high_water))

            mode = "report-only" if options.report_only else "acting"
            self.log.notice(
                f"Cycle done ({mode})",
                f"{len(gathered.facts.transformations)} transformations in scope, {gathered.changed_jobs} failed jobs "
                f"read, {gathered.new_failures} new, {len(outcome.recorded)} decisions recorded, {outcome.applied} "
                f"applied ({outcome.files_changed} file changes, {outcome.tasks_changed} task changes, "
                f"{outcome.skipped_changes} skipped as the files or tasks had moved on), "
                f"{outcome.recovered} recovered, {outcome.left_pending} left pending, "
                f"{sources.rpcs + actions.rpcs} RPCs, {time.monotonic() - started:.2f} s, high-water "
                f"{describe_times(gathered.high_water)}",
            )
            lines = cycle_summary_lines(outcome.recorded, report_only=options.report_only)
            for line in lines:
                self.log.notice(line)
            if lines and options.mail_to:
                self._mail(options, lines, outcome, now)
        finally:
            # also when recording or applying failed half-way: what was recorded is in the monitoring too
            self._send_monitoring(sources, gathered, outcome, options, now)
        return outcome

    def _send_monitoring(
        self, sources: DiracSources, gathered: Gathered, outcome: Outcome, options: FailureAgentOptions, now: datetime
    ) -> None:
        """Send the cycle's decisions and the file counts of its transformations (those in scope, and once more
        those that left the scope since the last cycle, e.g. completed) to DIRAC's Monitoring system, with the
        records that earlier cycles could not send. Never raises: the cycle's decisions are already applied."""
        infos = {
            t.transformation_id: TransformationInfo(t.production_id, t.type, t.status)
            for t in gathered.facts.transformations
        }
        try:
            records = [
                (DECISIONS_TYPE, record)
                for record in decision_records(
                    outcome.recorded, now, agent=self.agent_name, report_only=options.report_only, transformations=infos
                )
            ]
        except Exception as exc:  # noqa: BLE001 - never fail the cycle (a bug here would show in the unit tests)
            self.log.warn("No decision records this cycle", repr(exc))
            records = []
        try:
            left = {tid: info for tid, info in self.progress_of.items() if tid not in infos}
            statuses = sources.transformation_statuses(left) if left else {}
            counted = {**infos, **{tid: replace(info, status=statuses.get(tid, "")) for tid, info in left.items()}}
            counts = sources.file_counts(counted) if counted else {}
            records += [(PROGRESS_TYPE, r) for r in progress_records(counts, counted, now, agent=self.agent_name)]
            self.progress_of = infos
        except Exception as exc:  # noqa: BLE001 - progress is only reported: the decisions still go
            self.log.warn("No progress records this cycle: file counts not read", repr(exc))
        try:
            report = self.monitoring.send(records)
        except Exception as exc:  # noqa: BLE001 - a failed send must never fail the cycle
            self.log.warn("Monitoring records not sent", repr(exc))
            return
        if report.pending or report.errors or report.dropped:
            self.log.warn(
                "Monitoring: " + report.describe(), "; ".join(report.errors) or "(to be sent by a later cycle)"
            )
        else:
            self.log.notice("Monitoring: " + report.describe())

    def _mail(self, options: FailureAgentOptions, lines: list[str], outcome: Outcome, cycle_time: datetime) -> None:
        """Mail the cycle's digest through DIRAC's Notification service, whose CS section names the SMTP server
        (``localAttempt=False``, as DIRAC's own agents do: no try at an SMTP server on this host first).

        All addresses get one mail: DIRAC's Mail utility splits the address string at ", " only. The body names
        the cycle's time, so that the service, which drops a mail identical to one it sent in the last 24 h,
        never drops the digest of a later cycle that happens to have the same counts.
        """
        from DIRAC.FrameworkSystem.Client.NotificationClient import NotificationClient

        mode = "report-only: nothing was changed" if options.report_only else "decisions applied"
        since = cycle_time.strftime("%Y-%m-%d %H:%M:%S")
        body = "\n".join(
            [f"{self.agent_name}: {len(outcome.recorded)} new decisions in the cycle of {since} UTC ({mode}).", "",
             *lines, "", f"Details: dirac-ctao-failure-report --since '{since}'"]
        )  # fmt: skip
        recipients = ", ".join(options.mail_to)
        result = NotificationClient().sendMail(
            recipients,
            f"[{self.agent_name}] {len(outcome.recorded)} new failure-management decisions",
            body,
            fromAddress=options.mail_from or None,
            localAttempt=False,
        )
        if not result["OK"]:
            self.log.warn("Could not send the digest", result["Message"])
        else:
            self.log.notice(f"Digest mailed to {recipients}", result["Value"])

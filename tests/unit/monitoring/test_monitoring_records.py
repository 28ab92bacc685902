"""The failure agent's monitoring records: made from decisions and file counts, kept while they cannot be sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from CTAODIRAC.Core.Failures import Decision, DecisionKind, FailureClass
from CTAODIRAC.Core.Monitoring import (
    DECISION_KEY_FIELDS,
    DECISION_MONITORING_FIELDS,
    DECISIONS_TYPE,
    PROGRESS_KEY_FIELDS,
    PROGRESS_MONITORING_FIELDS,
    PROGRESS_TYPE,
    PendingRecords,
    TransformationInfo,
    decision_records,
    epoch_ms,
    progress_records,
    trim,
)
from CTAODIRAC.TransformationSystem.Utilities.FailureMonitoring import MonitoringSender

WHEN = datetime(2026, 12, 4, 1, 0, 0, tzinfo=UTC)
AGENT = "Transformation/FailureManagementAgent"

RETRY = Decision(
    kind=DecisionKind.RETRY,
    key="outcome:12:3:45:2026-12-04T00:50:00",
    failure="12:3:45:2026-12-04T00:50:00",
    transformation_id=12,
    production_id=4,
    task_id=3,
    job_id=45,
    site="CTAO.Local.ch",
    failure_class=FailureClass.INFRASTRUCTURE,
    rule="PilotStalled",
    lfns=("/a", "/b"),
)
FLUSH = Decision(kind=DecisionKind.FLUSH, key="flush:13:x", transformation_id=13)
COMPLETE_PRODUCTION = Decision(kind=DecisionKind.COMPLETE_PRODUCTION, key="complete-production:4", production_id=4)


def test_epoch_ms_takes_naive_times_as_utc():
    assert epoch_ms(WHEN) == epoch_ms(WHEN.replace(tzinfo=None)) == 1_796_346_000_000


def test_a_decision_record_names_production_transformation_class_action_site_and_files():
    infos = {12: TransformationInfo(4, "Processing", "Active"), 13: TransformationInfo(5, "Merging", "Idle")}
    retry, flush, complete = decision_records(
        [RETRY, FLUSH, COMPLETE_PRODUCTION], WHEN, agent=AGENT, report_only=False, transformations=infos
    )
    assert {k: v for k, v in retry.items() if k != "_id"} == {
        "timestamp": 1_796_346_000_000,
        "Production": "4",
        "Transformation": "12",
        "TransformationType": "Processing",
        "Action": "retry",
        "Class": "infrastructure",
        "Rule": "PilotStalled",
        "Site": "CTAO.Local.ch",
        "Mode": "acting",
        "Agent": AGENT,
        "Decisions": 1,
        "Files": 2,
    }
    # what a decision does not name: from the transformation, else "none"
    assert (flush["Production"], flush["TransformationType"], flush["Class"], flush["Site"], flush["Files"]) == (
        "5", "Merging", "none", "none", 0,
    )  # fmt: skip
    assert (complete["Production"], complete["Transformation"], complete["Action"]) == (
        "4", "none", "complete-production",
    )  # fmt: skip
    for record in (retry, flush, complete):
        assert set(record) == {"timestamp", "_id", *DECISION_KEY_FIELDS, *DECISION_MONITORING_FIELDS}
        assert all(isinstance(record[f], str) and record[f] for f in DECISION_KEY_FIELDS)


def test_a_decision_keeps_its_document_id_so_a_record_sent_twice_is_stored_once():
    first = decision_records([RETRY], WHEN, agent=AGENT, report_only=True)[0]
    again = decision_records([RETRY], WHEN, agent=AGENT, report_only=True)[0]
    other = decision_records([FLUSH], WHEN, agent=AGENT, report_only=True)[0]
    assert first["_id"] == again["_id"] != other["_id"]
    assert first["Mode"] == "report-only"


def test_progress_records_one_per_transformation_and_status_with_files():
    counts = {12: {"Processed": 7, "Unused": 2, "Problematic": 0}, 13: {"Assigned": 1}}
    infos = {12: TransformationInfo(4, "Processing", "Active")}
    records = progress_records(counts, infos, WHEN, agent=AGENT)
    assert [(r["Transformation"], r["Status"], r["Files"]) for r in records] == [
        ("12", "Processed", 7), ("12", "Unused", 2), ("13", "Assigned", 1),
    ]  # fmt: skip
    assert (records[0]["Production"], records[0]["TransformationType"], records[0]["TransformationStatus"]) == (
        "4", "Processing", "Active",
    )  # fmt: skip
    assert (records[2]["Production"], records[2]["TransformationStatus"]) == ("none", "none")
    assert all(set(r) == {"timestamp", "_id", *PROGRESS_KEY_FIELDS, *PROGRESS_MONITORING_FIELDS} for r in records)
    assert len({r["_id"] for r in records}) == 3
    later = progress_records(counts, infos, WHEN.replace(minute=10), agent=AGENT)
    assert not {r["_id"] for r in records} & {r["_id"] for r in later}


def test_trim_drops_the_oldest_expendable_records_first():
    items = [("P", {"n": 1}), ("D", {"n": 2}), ("P", {"n": 3}), ("D", {"n": 4}), ("P", {"n": 5})]
    assert trim(items, 5, {"P"}) == (items, 0)
    assert trim(items, 3, {"P"}) == ([items[1], items[3], items[4]], 2)
    assert trim(items, 1, {"P"}) == ([items[3]], 4)
    assert trim(items, 2) == ([items[3], items[4]], 3)


def test_pending_records_survive_in_their_file_and_a_cut_line_is_skipped(tmp_path):
    pending = PendingRecords(tmp_path / "work" / "pending.jsonl", limit=3, expendable={PROGRESS_TYPE})
    assert pending.load() == ([], 0)
    items = [(PROGRESS_TYPE, {"n": 1}), (DECISIONS_TYPE, {"n": 2}), (PROGRESS_TYPE, {"n": 3}),
             (DECISIONS_TYPE, {"n": 4})]  # fmt: skip
    assert pending.save(items) == 1
    assert pending.load() == (items[1:], 0)
    with open(pending.path, "a", encoding="utf-8") as out:
        out.write('{"type": "FailureDecisions", "rec')  # an agent killed mid-write of an older format
    assert pending.load() == (items[1:], 1)
    assert not pending.path.with_name(pending.path.name + ".new").exists()
    assert pending.save([]) == 0
    assert not pending.path.exists()


def test_the_pending_file_s_lock_keeps_a_second_process_out(tmp_path):
    import subprocess
    import sys

    pending = PendingRecords(tmp_path / "pending.jsonl")
    probe = (
        "import fcntl, sys\n"
        "with open(sys.argv[1], 'a') as lock:\n"
        "    try:\n"
        "        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "    except BlockingIOError:\n"
        "        sys.exit(3)\n"
    )
    lock_file = str(pending.path) + ".lock"
    with pending.locked():
        assert subprocess.run([sys.executable, "-c", probe, lock_file]).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe, lock_file]).returncode == 0


class FakeReporter:
    """DIRAC's MonitoringReporter as seen from outside: addRecord, then commit sends the first ``capacity``."""

    def __init__(self, type_name: str, capacity: dict[str, int], sent: list[tuple[str, dict]]):
        self.type_name, self.capacity, self.sent, self.records = type_name, capacity, sent, []

    def addRecord(self, record):  # noqa: N802 - DIRAC's name
        self.records.append(record)

    def commit(self):
        if self.capacity.get(self.type_name) == -1:
            return {"OK": False, "Message": "no producer"}
        count = min(len(self.records), self.capacity.get(self.type_name, len(self.records)))
        self.sent.extend((self.type_name, r) for r in self.records[:count])
        return {"OK": True, "Value": count}


def _sender(tmp_path, capacity, sent, enabled=(DECISIONS_TYPE, PROGRESS_TYPE), answers=True):
    return MonitoringSender(
        tmp_path / "pending.jsonl",
        reporter=lambda name: FakeReporter(name, capacity, sent),
        enabled_types=lambda: set(enabled),
        answers=lambda reporter: answers,
    )


def test_records_not_sent_wait_in_the_file_and_go_first_next_time(tmp_path):
    sent: list[tuple[str, dict]] = []
    capacity = {DECISIONS_TYPE: 1}
    sender = _sender(tmp_path, capacity, sent)
    report = sender.send([(DECISIONS_TYPE, {"n": 1}), (PROGRESS_TYPE, {"n": 2}), (DECISIONS_TYPE, {"n": 3})])
    # the reporter sent the first decision only (then OpenSearch went away); progress records still went
    assert sent == [(DECISIONS_TYPE, {"n": 1}), (PROGRESS_TYPE, {"n": 2})]
    assert (report.sent, report.pending) == (2, 1)
    waiting = [json.loads(line) for line in (tmp_path / "pending.jsonl").read_text().splitlines()]
    assert waiting == [{"type": DECISIONS_TYPE, "record": {"n": 3}}]

    # a new sender (the agent restarted) sends what waited first, then the new records
    sent.clear()
    capacity.clear()
    report = _sender(tmp_path, capacity, sent).send([(DECISIONS_TYPE, {"n": 4})])
    assert sent == [(DECISIONS_TYPE, {"n": 3}), (DECISIONS_TYPE, {"n": 4})]
    assert (report.pending, report.errors) == (0, ())
    assert not (tmp_path / "pending.jsonl").exists()


def test_a_type_not_sent_at_all_stops_the_cycle_s_sending_and_nothing_is_lost(tmp_path):
    sent: list[tuple[str, dict]] = []
    sender = _sender(tmp_path, {DECISIONS_TYPE: 0}, sent)
    report = sender.send([(DECISIONS_TYPE, {"n": 1}), (PROGRESS_TYPE, {"n": 2})])
    assert sent == []
    assert (report.sent, report.pending) == (0, 2)
    report = _sender(tmp_path, {DECISIONS_TYPE: -1}, sent).send([])
    assert (report.sent, report.pending) == (0, 2) and "no producer" in report.errors[0]
    assert "2 waiting" in report.describe()


def test_a_reporter_that_raises_fails_nothing(tmp_path):
    def broken(name):
        raise ConnectionError("OpenSearch down")

    sender = MonitoringSender(
        tmp_path / "p.jsonl", reporter=broken, enabled_types=lambda: {DECISIONS_TYPE}, answers=lambda r: True
    )
    report = sender.send([(DECISIONS_TYPE, {"n": 1})])
    assert (report.sent, report.pending) == (0, 1)
    assert "OpenSearch down" in report.errors[0]


def test_types_switched_off_in_monitoring_backends_are_neither_sent_nor_kept(tmp_path):
    sent: list[tuple[str, dict]] = []
    sender = _sender(tmp_path, {}, sent, enabled=(DECISIONS_TYPE,))
    report = sender.send([(DECISIONS_TYPE, {"n": 1}), (PROGRESS_TYPE, {"n": 2})])
    assert sent == [(DECISIONS_TYPE, {"n": 1})]
    assert (report.sent, report.pending) == (1, 0)


def test_a_node_that_does_not_answer_a_ping_is_not_given_the_records(tmp_path):
    sent: list[tuple[str, dict]] = []
    report = _sender(tmp_path, {}, sent, answers=False).send([(DECISIONS_TYPE, {"n": 1}), (PROGRESS_TYPE, {"n": 2})])
    assert sent == []
    assert (report.sent, report.pending) == (0, 2)
    assert report.errors == ("FailureDecisions: RuntimeError('OpenSearch does not answer')",)


class FakeSources:
    """The two reads of the agent's monitoring step (``DiracSources``)."""

    def __init__(self, counts=None, fail=False):
        self.counts, self.fail, self.asked = counts or {}, fail, []

    def transformation_statuses(self, ids):
        self.asked.append(("statuses", sorted(ids)))
        return dict.fromkeys(ids, "Completed")

    def file_counts(self, ids):
        self.asked.append(("counts", sorted(ids)))
        if self.fail:
            raise ConnectionError("TransformationManager down")
        return {tid: self.counts.get(tid, {}) for tid in ids}


class FakeSender:
    def __init__(self, fail=False):
        self.fail, self.sent = fail, []

    def send(self, records):
        if self.fail:
            raise OSError("disk full")
        self.sent.extend(records)
        from CTAODIRAC.TransformationSystem.Utilities.FailureMonitoring import SendReport

        return SendReport(sent=len(self.sent))


class FakeLog:
    def __init__(self):
        self.lines = []

    def warn(self, *args):
        self.lines.append(("warn", " ".join(map(str, args))))

    def notice(self, *args):
        self.lines.append(("notice", " ".join(map(str, args))))


def _agent_step(sources, sender, progress_of=None):
    """The agent's monitoring step on stand-ins (the DIRAC agent itself is run by the integration test)."""
    from types import SimpleNamespace

    from CTAODIRAC.Core.Failures import CycleFacts, FailureAgentOptions, TransformationFacts
    from CTAODIRAC.TransformationSystem.Agent.FailureManagementAgent import FailureManagementAgent
    from CTAODIRAC.TransformationSystem.Utilities.FailureActions import Outcome
    from CTAODIRAC.TransformationSystem.Utilities.FailureFacts import Gathered

    agent = SimpleNamespace(log=FakeLog(), monitoring=sender, progress_of=progress_of or {}, agent_name=AGENT)
    facts = CycleFacts(now=WHEN, transformations=(TransformationFacts(12, "Active", "Processing", production_id=4),))
    gathered = Gathered(facts=facts, recorded_keys=set(), high_water=WHEN, changed_jobs=1, new_failures=1,
                        expected_status={})  # fmt: skip
    outcome = Outcome(recorded=[RETRY])
    options = FailureAgentOptions(ReportOnly=False)
    FailureManagementAgent._send_monitoring(agent, sources, gathered, outcome, options, WHEN)
    return agent


def test_the_agent_sends_its_decisions_and_the_progress_also_of_a_transformation_that_left_its_scope():
    sources = FakeSources({12: {"Unused": 1, "Assigned": 1}, 13: {"Processed": 4}})
    sender = FakeSender()
    agent = _agent_step(sources, sender, progress_of={13: TransformationInfo(4, "Merging", "Active")})
    assert sources.asked == [("statuses", [13]), ("counts", [12, 13])]
    assert [(t, r.get("Action"), r["Transformation"], r.get("Status")) for t, r in sender.sent] == [
        (DECISIONS_TYPE, "retry", "12", None),
        (PROGRESS_TYPE, None, "12", "Assigned"),
        (PROGRESS_TYPE, None, "12", "Unused"),
        (PROGRESS_TYPE, None, "13", "Processed"),
    ]
    assert sender.sent[3][1]["TransformationStatus"] == "Completed"
    assert set(agent.progress_of) == {12}  # 13 was counted once more, and no longer
    assert agent.log.lines[-1][0] == "notice"


def test_the_agent_s_monitoring_step_never_raises():
    sender = FakeSender()
    agent = _agent_step(FakeSources(fail=True), sender)
    assert [t for t, _ in sender.sent] == [DECISIONS_TYPE]  # the decisions still go
    assert "file counts not read" in agent.log.lines[0][1]
    agent = _agent_step(FakeSources(), FakeSender(fail=True))
    assert agent.log.lines[-1] == ("warn", "Monitoring records not sent OSError('disk full')")

"""The failure-management agent against the real local DIRAC.

One transformation with real tasks, submitted to the WMS by DIRAC's WorkflowTaskAgent; its jobs are walked
Matched → Running → Failed (or Killed) through the JobStateUpdate service with realistic MinorStatus and
ApplicationStatus, as a pilot would. Each test fails its own jobs, runs the agent and checks file statuses,
ErrorCounts and the recorded decisions; the tests share the transformation and run in file order.
"""

from __future__ import annotations

import email
import json
import signal
import socketserver
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message

import pytest

from CTAODIRAC.LocalDIRAC import control, mariadb, processes

pytestmark = pytest.mark.integration

AGENT = "Transformation/FailureManagementAgent"
#: Jobs the tests use: each test takes the next ones.
JOBS = 22
ACT = ["ReportOnly=False", "MinJobAge=0", "TransformationStatuses=Idle", "BudgetApplication=0"]

STALLED = ("Failed", "Job stalled: pilot not running", "")
APPLICATION = ("Failed", "Application Finished With Errors", "'ctapipe-process' Exited With Status 1")
INPUT = ("Failed", "Input Data Resolution", "")
UPLOAD = ("Failed", "Uploading Output Data", "Failed to upload outputs")
KILLED = ("Killed", "Received Kill signal", "")
RESCHEDULING = ("Failed", "Going to reschedule job", "")

SETUP = """
import uuid
from DIRAC.Interfaces.API.Job import Job
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
from DIRAC.TransformationSystem.Client.Transformation import Transformation
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

job = Job()
job.setExecutable("/bin/true")
job.setCPUTime(1000)
lfns = [f"/ctao/tests/failures/{NAME}/file_{i:03d}.dat" for i in range(COUNT)]
fc = FileCatalogClient()
res = fc.addFile({lfn: {"PFN": "", "Size": 10, "SE": "CTAO-Local-SE", "GUID": str(uuid.uuid4()).upper(),
                        "Checksum": "0000abcd"} for lfn in lfns})
assert res["OK"] and not res["Value"]["Failed"], res
t = Transformation()
t.setTransformationName("failures_" + NAME)
t.setType("DataReprocessing")
t.setDescription("failure agent test")
t.setLongDescription("failure agent test")
t.setBody(job.workflow.toXML())
t.setPlugin("Standard")
t.setGroupSize(1)
t.setAgentType("Automatic")
res = t.addTransformation()
assert res["OK"], res
tid = t.getTransformationID()["Value"]
tc = TransformationClient()
assert tc.setTransformationParameter(tid, "Status", "Active")["OK"]
res = tc.addFilesToTransformation(tid, lfns)
assert res["OK"], res
for lfn in lfns:
    res = tc.addTaskForTransformation(tid, [lfn])
    assert res["OK"], res
result = {"tid": tid, "lfns": lfns}
"""

TASKS = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
res = TransformationClient().getTransformationTasks({"TransformationID": TID}, inputVector=True)
assert res["OK"], res
result = [[t["TaskID"], t["ExternalID"], t["ExternalStatus"], t["InputVector"]] for t in res["Value"]]
"""

JOB_STATES = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
res = JobMonitoringClient().getJobsStates(JOBS)
assert res["OK"], res
result = {str(k): v["Status"] for k, v in res["Value"].items()}
"""

WALK = """
import time
from DIRAC.WorkloadManagementSystem.Client.JobStateUpdateClient import JobStateUpdateClient
jsu = JobStateUpdateClient()
for job_id, (status, minor, application) in WALKS.items():
    job_id = int(job_id)
    assert jsu.setJobSite(job_id, "CTAO.Local.ch")["OK"]
    for step, step_minor in (("Matched", "Assigned"), ("Running", "Job Initialization")):
        res = jsu.setJobStatus(job_id, step, step_minor, "JobAgent@CTAO.Local.ch")
        assert res["OK"], res
    if application:
        assert jsu.setJobApplicationStatus(job_id, application, "JobWrapper")["OK"]
    res = jsu.setJobStatus(job_id, status, minor, "JobWrapper")
    assert res["OK"], res
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
res = JobMonitoringClient().getJobsStates([int(j) for j in WALKS])
assert res["OK"], res
result = {str(k): [v["Status"], v["MinorStatus"]] for k, v in res["Value"].items()}
"""

# every call is made each time: the services whose DB layer is SQLAlchemy (ReqManager, ResourceStatus) keep a
# pool of connections that died with MariaDB, and each fails its first query once before it reconnects (seen: a
# later job could not send its failover request, "Lost connection to server during query")
SERVICES_ANSWER = """
from DIRAC.RequestManagementSystem.Client.ReqClient import ReqClient
from DIRAC.ResourceStatusSystem.Client.ResourceStatusClient import ResourceStatusClient
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
answers = [
    JobMonitoringClient().getJobsStates([1])["OK"],
    TransformationClient().getCounters("TransformationFiles", ["Status"], {})["OK"],
    ReqClient().getDBSummary()["OK"],
    ResourceStatusClient().selectStatusElement("Resource", "Status", name="CTAO-Local-SE")["OK"],
]
result = all(answers)
"""


def _wait_until_services_answer(dirac, timeout: float = 90) -> None:
    """After MariaDB restarted, a service's first query may hit a connection that died with it (DIRAC's pool
    reconnects on the next one): wait until the services the tests use answer again, so that the instance is
    left as healthy for the tests that follow as it was."""
    deadline = time.monotonic() + timeout
    while not dirac.py(SERVICES_ANSWER, user=None):
        assert time.monotonic() < deadline, "the services did not answer after MariaDB restarted"
        time.sleep(2)

FILES = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
res = TransformationClient().getTransformationFiles({"TransformationID": TID})
assert res["OK"], res
result = {f["LFN"]: [f["Status"], f["ErrorCount"], f["TaskID"]] for f in res["Value"]}
"""

REPORT = """
from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient
res = FailureManagementClient().getDecisions({"TransformationID": [TID]}, 10000)
assert res["OK"], res
result = [{k: (str(v) if v is not None else None) for k, v in row.items()} for row in res["Value"]]
"""


@dataclass
class World:
    tid: int
    jobs: list[tuple[int, int, str]]  # (job, task, lfn)
    used: int = 0
    taken: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)

    def take(self, count: int) -> list[tuple[int, int, str]]:
        jobs = self.jobs[self.used : self.used + count]
        assert len(jobs) == count, "not enough jobs prepared: raise JOBS"
        self.used += count
        return jobs


def _walk(dirac, walks: dict[int, tuple[str, str, str]]) -> None:
    # a pilot's match takes the job out of its task queue (DIRAC's Matcher); the walk below sets Matched
    # without one, so do that part here: otherwise the local JobAgents of later tests are handed these jobs,
    # refused as "not in Waiting state", one per cycle
    dirac.sql("TaskQueueDB", f"DELETE FROM tq_Jobs WHERE JobId IN ({', '.join(str(int(j)) for j in walks)})")
    states = dirac.py(f"WALKS = {json.dumps({str(k): v for k, v in walks.items()})}\n" + WALK, user=None)
    for job_id, (status, minor, _) in walks.items():
        assert states[str(job_id)] == [status, minor], states


def _files(dirac, tid: int) -> dict[str, list]:
    return dirac.py(f"TID = {tid}\n" + FILES)


def _decisions(dirac, tid: int) -> list[dict[str, str]]:
    rows = dirac.sql(
        "FailureManagementDB",
        "SELECT DecisionID, IdemKey, Kind, Class, Rule, JobID, State, Site FROM FMDecisions "
        f"WHERE TransformationID = {int(tid)} ORDER BY DecisionID",
    )
    names = ("DecisionID", "IdemKey", "Kind", "Class", "Rule", "JobID", "State", "Site")
    return [dict(zip(names, row)) for row in rows]


def _by_job(decisions: list[dict[str, str]], jobs) -> dict[int, list[dict[str, str]]]:
    wanted = {job for job, _, _ in jobs}
    found: dict[int, list[dict[str, str]]] = {job: [] for job in wanted}
    for row in decisions:
        if row["JobID"] != "NULL" and int(row["JobID"]) in wanted:
            found[int(row["JobID"])].append(row)
    return found


def _assert_once(rows: list[dict[str, str]], kind: str) -> None:
    """One outcome of the failure, applied; at most one avoid-site decision with it (SiteBanThreshold reached)."""
    outcomes = [(d["Kind"], d["State"]) for d in rows if d["Kind"] != "avoid-site"]
    assert outcomes == [(kind, "Applied")], rows
    assert len([d for d in rows if d["Kind"] == "avoid-site"]) <= 1, rows


def _run(dirac, options: list[str], cycles: int = 1) -> str:
    run = control.run_agent(dirac.inst, AGENT, cycles=cycles, options=options)
    assert run.returncode == 0, run.output[-3000:]
    assert "Cycle was successful" in run.output, run.output[-3000:]
    return run.output


@pytest.fixture(scope="module")
def world(dirac) -> World:
    unique = uuid.uuid4().hex[:8]
    made = dirac.py(f"NAME = {unique!r}\nCOUNT = {JOBS}\n" + SETUP)
    tid = made["tid"]
    # WorkflowTaskAgent only hands out tasks older than 30 s
    dirac.sql("TransformationDB", f"UPDATE TransformationTasks SET CreationTime = UTC_TIMESTAMP() - INTERVAL 2 MINUTE "
              f"WHERE TransformationID = {tid}")  # fmt: skip
    run = control.run_agent(
        dirac.inst,
        "Transformation/WorkflowTaskAgent",
        options=["TransType=DataReprocessing", "MonitorTasks=False", "MonitorFiles=False", "shifterProxy="],
    )
    assert run.returncode == 0, run.output[-3000:]
    tasks = dirac.py(f"TID = {tid}\n" + TASKS)
    jobs = sorted((int(ext), int(task), vector) for task, ext, _, vector in tasks if ext and ext != "0")
    assert len(jobs) == JOBS, (tasks, run.output[-3000:])
    # the job path is walked from Waiting: the optimizers get there on their periodic scan
    deadline = time.monotonic() + 240
    while True:
        states = dirac.py(f"JOBS = {[job for job, _, _ in jobs]}\n" + JOB_STATES)
        if all(status == "Waiting" for status in states.values()):
            break
        assert time.monotonic() < deadline, states
        time.sleep(3)
    # out of the WorkflowTaskAgent's way (it submits Active transformations only); the agent looks at Idle ones
    dirac.sql("TransformationDB", f"UPDATE Transformations SET Status = 'Idle' WHERE TransformationID = {tid}")
    return World(tid=tid, jobs=jobs)


def test_report_only_records_and_changes_nothing(dirac, world):
    jobs = world.take(3)
    _walk(dirac, {jobs[0][0]: STALLED, jobs[1][0]: APPLICATION, jobs[2][0]: RESCHEDULING})
    before = _files(dirac, world.tid)
    output = _run(dirac, ["MinJobAge=0", "TransformationStatuses=Idle"])
    assert "Cycle done (report-only)" in output
    assert _files(dirac, world.tid) == before
    decided = _by_job(_decisions(dirac, world.tid), jobs)
    assert [(d["Kind"], d["Class"], d["Rule"], d["State"]) for d in decided[jobs[0][0]]] == [
        ("retry", "infrastructure", "PilotStalled", "ReportOnly")
    ]
    assert [(d["Kind"], d["Class"], d["State"]) for d in decided[jobs[1][0]]] == [
        ("retry", "application", "ReportOnly")
    ]
    assert decided[jobs[2][0]] == []  # being rescheduled: not settled


def test_failed_jobs_are_classified_and_files_retried_or_given_up_once(dirac, world):
    stalled, application, killed, upload = world.take(4)
    _walk(dirac, {stalled[0]: STALLED, application[0]: APPLICATION, killed[0]: KILLED, upload[0]: UPLOAD})
    _run(dirac, ACT)
    files = _files(dirac, world.tid)
    assert files[stalled[2]][:2] == ["Unused", 1]
    assert files[application[2]][:2] == ["Problematic", 1]  # BudgetApplication=0: given up at once
    assert files[killed[2]][:2] == ["Assigned", 0]  # a kill is deliberate: recorded only
    assert files[upload[2]][:2] == ["Unused", 1]
    decided = _by_job(_decisions(dirac, world.tid), [stalled, application, killed, upload])
    summary = {job: [(d["Kind"], d["Class"], d["State"]) for d in rows] for job, rows in decided.items()}
    assert summary == {
        stalled[0]: [("retry", "infrastructure", "Applied")],
        application[0]: [("give-up", "application", "Applied")],
        killed[0]: [("leave", "infrastructure", "Applied")],
        upload[0]: [("retry", "output-upload", "Applied")],
    }
    assert all(d["Site"] == "CTAO.Local.ch" for rows in decided.values() for d in rows)
    # a second cycle finds nothing new: nothing recorded or changed twice
    _run(dirac, ACT)
    assert _files(dirac, world.tid) == files
    again = _by_job(_decisions(dirac, world.tid), [stalled, application, killed, upload])
    assert {job: len(rows) for job, rows in again.items()} == dict.fromkeys(again, 1)


def test_report_service_and_command(dirac, world):
    rows = dirac.py(f"TID = {world.tid}\n" + REPORT)
    kinds = sorted({row["Kind"] for row in rows})
    assert {"retry", "give-up", "leave"} <= set(kinds)
    run = dirac.run(
        [control.dirac_command("dirac-ctao-failure-report"), "--transformation", str(world.tid), "--json"]
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert len(report["decisions"]) == len(rows)
    assert report["summary"][0]["TransformationID"] == world.tid
    assert report["summary"][0]["ByClass"]["infrastructure"] >= 2
    run = dirac.run(
        [control.dirac_command("dirac-ctao-failure-report"), "--transformation", str(world.tid),
         "--class", "application"]
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "give-up" in run.stdout and "PilotStalled" not in run.stdout


def test_a_pending_decision_of_a_dead_agent_is_applied_once(dirac, world):
    (job, task, lfn), = world.take(1)
    _walk(dirac, {job: STALLED})
    # as if an agent of this host had recorded the retry and died before applying it
    (owner,), = dirac.sql("FailureManagementDB", "SELECT Owner FROM FMDecisions WHERE Owner != '' ORDER BY DecisionID DESC LIMIT 1")
    dead = owner.rsplit(":", 2)[0] + ":999999999:1"
    key = f"outcome:{world.tid}:{task}:{job}:crash"
    changes = json.dumps({"LFNs": [lfn], "Changes": [[lfn, "Assigned", "Unused"]]})
    dirac.sql(
        "FailureManagementDB",
        "INSERT INTO FMDecisions (IdemKey, Kind, Failure, TransformationID, TaskID, JobID, Site, Class, Rule, NumFiles,"
        " FileChanges, State, Owner, ClaimTime, CreationTime) VALUES "
        f"('{key}', 'retry', '{key[8:]}', {world.tid}, {task}, {job}, 'CTAO.Local.ch', 'infrastructure', "
        f"'PilotStalled', 1, '{changes}', 'Pending', '{dead}', UTC_TIMESTAMP(), "
        "UTC_TIMESTAMP())",
    )
    output = _run(dirac, ACT)
    assert "Finishing decisions recorded but not applied (1)" in output
    files = _files(dirac, world.tid)
    assert files[lfn][:2] == ["Unused", 1]
    rows = [d for d in _decisions(dirac, world.tid) if d["IdemKey"] == key]
    assert [r["State"] for r in rows] == ["Applied"]
    # the real failure of the same job was decided too, and the file was not reset a second time
    _run(dirac, ACT)
    assert _files(dirac, world.tid)[lfn][:2] == ["Unused", 1]


def _agent_process(dirac, options: list[str], cycles: int = 1) -> subprocess.Popen:
    args = [control.dirac_command("dirac-agent"), AGENT, "-o", f"MaxCycles={cycles}", "-o", "PollingTime=1"]
    for opt in options:
        args += ["-o", opt]
    env = dirac.inst.environment(user=None)
    env["PATH"] = f"{control.venv_bin()}:{env.get('PATH', '')}"
    return subprocess.Popen(
        args, env=env, cwd=dirac.inst.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )


def test_killed_mid_cycle_then_restarted_nothing_lost_or_doubled(dirac, world):
    jobs = world.take(5)
    _walk(dirac, {job: (STALLED if i % 2 else INPUT) for i, (job, _, _) in enumerate(jobs)})
    proc = _agent_process(dirac, ACT)
    killed_at = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if b"Recorded " in line:
            proc.send_signal(signal.SIGKILL)
            killed_at = line.decode(errors="replace")
            break
    proc.wait(timeout=60)
    assert killed_at is not None, "the agent never reached the recording step"
    _run(dirac, ACT)
    files = _files(dirac, world.tid)
    decided = _by_job(_decisions(dirac, world.tid), jobs)
    for job, _, lfn in jobs:
        _assert_once(decided[job], "retry")
        assert files[lfn][:2] == ["Unused", 1], (lfn, files[lfn])


def test_two_agents_at_once_act_once(dirac, world):
    jobs = world.take(3)
    _walk(dirac, {job: UPLOAD for job, _, _ in jobs})
    first, second = _agent_process(dirac, ACT), _agent_process(dirac, ACT)
    outputs = [p.communicate(timeout=180)[0].decode(errors="replace") for p in (first, second)]
    assert all("Cycle was successful" in out for out in outputs), outputs[0][-2000:] + outputs[1][-2000:]
    files = _files(dirac, world.tid)
    decided = _by_job(_decisions(dirac, world.tid), jobs)
    for job, _, lfn in jobs:
        _assert_once(decided[job], "retry")
        assert files[lfn][:2] == ["Unused", 1], (lfn, files[lfn])


def test_mariadb_restart_between_cycles_the_next_cycle_recovers(dirac, world):
    before, after = world.take(1)[0], world.take(1)[0]
    _walk(dirac, {before[0]: STALLED})
    proc = _agent_process(dirac, ACT, cycles=40)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Cycle done" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines[-50:])
            time.sleep(0.5)
        # restart the instance's MariaDB under the running agent
        assert processes.stop(processes.Process(dirac.inst, mariadb.MYSQL_KEY))
        time.sleep(2)
        mariadb.ensure_running(dirac.inst, dirac.inst.identity())
        _wait_until_services_answer(dirac)
        _walk(dirac, {after[0]: STALLED})
        done_before = sum("Cycle done" in line for line in lines)
        deadline = time.monotonic() + 120
        while True:
            files = _files(dirac, world.tid)
            if files[after[2]][0] == "Unused":
                break
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines[-80:])
            time.sleep(2)
        # the cycle that set it ends (and logs "Cycle done") a moment after the file's status changed
        while sum("Cycle done" in line for line in lines) <= done_before:
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines[-80:])
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        reader.join(timeout=10)
    files = _files(dirac, world.tid)
    decided = _by_job(_decisions(dirac, world.tid), [before, after])
    for job, _, lfn in (before, after):
        _assert_once(decided[job], "retry")
        assert files[lfn][:2] == ["Unused", 1]


NEW_TASK = """
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
# a second replica, at the other site's storage element (the catalog entry is enough: no job runs there)
res = FileCatalogClient().addReplica({LFN: {"SE": "CTAO-Spare-SE", "PFN": ""}})
assert res["OK"] and not res["Value"]["Failed"], res
res = TransformationClient().addTaskForTransformation(TID, [LFN])
assert res["OK"], res
result = res["Value"]
"""

JOB_JDL = """
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient
res = JobMonitoringClient().getJobJDL(JOB, False)
assert res["OK"], res
result = res["Value"]
"""


def test_new_tasks_of_a_file_kept_away_from_a_site_are_submitted_with_banned_sites(dirac, world):
    """The avoid-site decision is enforced when DIRAC's WorkflowTaskAgent submits the file's next task: the
    local CS points its PluginLocation at our task-manager plugin (as our ConfigTemplate.cfg does), which adds
    the site to the job's BannedSites."""
    (job, _, lfn), = world.take(1)
    _walk(dirac, {job: STALLED})
    _run(dirac, [*ACT, "SiteBanThreshold=1"])
    assert _files(dirac, world.tid)[lfn][0] == "Unused"
    bans = dirac.sql("FailureManagementDB", f"SELECT LFN, Site FROM FMSiteBans WHERE TransformationID = {world.tid}")
    assert (lfn, "CTAO.Local.ch") in {tuple(row) for row in bans}, bans
    # the file's new task (as the TransformationAgent would make it), handed to DIRAC's WorkflowTaskAgent
    task = dirac.py(f"TID = {world.tid}\nLFN = {lfn!r}\n" + NEW_TASK)
    dirac.sql("TransformationDB", f"UPDATE TransformationTasks SET CreationTime = UTC_TIMESTAMP() - INTERVAL 2 MINUTE "
              f"WHERE TransformationID = {world.tid} AND TaskID = {int(task)}")  # fmt: skip
    dirac.sql("TransformationDB", f"UPDATE Transformations SET Status = 'Active' WHERE TransformationID = {world.tid}")
    try:
        run = control.run_agent(
            dirac.inst,
            "Transformation/WorkflowTaskAgent",
            options=["TransType=DataReprocessing", "MonitorTasks=False", "MonitorFiles=False", "shifterProxy="],
        )
    finally:
        dirac.sql("TransformationDB", f"UPDATE Transformations SET Status = 'Idle' WHERE TransformationID = {world.tid}")
    assert run.returncode == 0, run.output[-3000:]
    assert "task keeps away from" in run.output, run.output[-3000:]
    tasks = {t[0]: t for t in dirac.py(f"TID = {world.tid}\n" + TASKS)}
    new_job = int(tasks[int(task)][1])
    assert new_job > 0, tasks[int(task)]
    jdl = dirac.py(f"JOB = {new_job}\n" + JOB_JDL)
    assert 'BannedSites = "CTAO.Local.ch";' in jdl, jdl
    # DIRAC's optimizers accept it: it waits for the other site holding a replica of its input (CTAO.Spare.ch,
    # which has no computing element here) and never goes to CTAO.Local.ch
    deadline = time.monotonic() + 120
    while (states := dirac.py(f"JOBS = [{new_job}]\n" + JOB_STATES))[str(new_job)] != "Waiting":
        assert states[str(new_job)] not in ("Failed", "Killed"), dirac.sql(
            "JobDB", f"SELECT Status, MinorStatus, ApplicationStatus FROM Jobs WHERE JobID = {new_job}")
        assert time.monotonic() < deadline, states
        time.sleep(2)
    assert dirac.sql("JobDB", f"SELECT Site FROM Jobs WHERE JobID = {new_job}") == [["CTAO.Spare.ch"]]
    assert f"InputData = {lfn!r}".replace("'", '"') in jdl, jdl


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def body(self) -> str:
        part = next(p for p in self.message.walk() if p.get_content_type() == "text/plain")
        return part.get_payload(decode=True).decode()


class _SmtpSession(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib (which DIRAC's Mail utility uses): keeps each message it is given."""

    server: _SmtpSink

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._reply("220 sink ready")
        sender, recipients = "", []
        for raw in self.rfile:
            verb, _, argument = raw.decode().strip().partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO", "NOOP"):
                self._reply("250 sink")
            elif verb == "MAIL":
                sender, recipients = argument.partition(":")[2].strip().strip("<>"), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(argument.partition(":")[2].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                lines = []
                for line in self.rfile:
                    if line == b".\r\n":
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.server.mails.append(Mail(sender, recipients, email.message_from_bytes(b"".join(lines))))
                self._reply("250 OK")
            elif verb == "RSET":
                sender, recipients = "", []
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


class _SmtpSink(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), _SmtpSession)
        self.mails: list[Mail] = []


@contextmanager
def _smtp_sink(port: int) -> Iterator[list[Mail]]:
    """An SMTP server in this process on ``port``, for as long as the block runs; yields the mails it got."""
    sink = _SmtpSink(port)
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink.mails
    finally:
        sink.shutdown()
        sink.server_close()
        thread.join(timeout=10)


def test_a_cycle_with_new_decisions_mails_a_digest_through_the_notification_service(dirac, world):
    """The agent → DIRAC's Framework/Notification service (DISET) → SMTP at the instance's SMTP port, where this
    test listens: one mail per cycle that recorded something, to all MailTo addresses at once; none otherwise."""
    stalled, application, later = world.take(3)
    mail = [*ACT, "SiteBanThreshold=0", "MailTo=ops@localhost, shifter@localhost", "MailFrom=fm-agent@localhost"]
    with _smtp_sink(dirac.inst.smtp_port()) as mails:
        _walk(dirac, {stalled[0]: STALLED, application[0]: APPLICATION})
        output = _run(dirac, mail)
        assert "Digest mailed to ops@localhost, shifter@localhost" in output, output[-3000:]
        assert len(mails) == 1, mails
        got = mails[0]
        assert got.sender == "fm-agent@localhost"
        assert got.recipients == ["ops@localhost", "shifter@localhost"]
        assert got.message["To"] == "ops@localhost, shifter@localhost"
        assert got.message["From"] == "fm-agent@localhost"
        assert got.message["Subject"] == f"[{AGENT}] 2 new failure-management decisions"
        lines = got.body.splitlines()
        assert lines[0].startswith(f"{AGENT}: 2 new decisions in the cycle of ")
        assert lines[0].endswith(" UTC (decisions applied)."), lines[0]
        assert (
            f"transformation {world.tid}: failures by class: application 1, infrastructure 1; "
            "by site: CTAO.Local.ch 2; did: files 2, give-up 1, retry 1"
        ) in lines, got.body
        assert lines[-1].startswith("Details: dirac-ctao-failure-report --since '"), got.body
        # nothing new: no mail
        output = _run(dirac, mail)
        assert "Digest mailed" not in output and "Could not send the digest" not in output
        assert len(mails) == 1, [m.message["Subject"] for m in mails]
    # no SMTP server listening: the service reports the failure, the agent logs it and the cycle still succeeds
    _walk(dirac, {later[0]: STALLED})
    output = _run(dirac, mail)
    assert "Could not send the digest" in output, output[-3000:]
    assert _files(dirac, world.tid)[later[2]][:2] == ["Unused", 1]


BULK_READS = """
import uuid
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
from CTAODIRAC.TransformationSystem.Utilities.FailureFacts import DiracSources

tc = TransformationClient()
# a transformation left New (out of the agent's scope) with queries of every kind DIRAC stores
res = tc.addTransformation("failures_queries_" + uuid.uuid4().hex[:8], "q", "q", "DataReprocessing", "Standard",
                           "Manual", "")
assert res["OK"], res
qid = res["Value"]
queries = {"Input": {"data_level": {"=": 0}, "particle": ["gamma", "proton"], "run": [1, 2, 3],
                     "site": "north", "zenith": 20},
           "Output": {"data_level": {"in": [1, 2]}, "analysis": "std"}}
for kind, query in queries.items():
    res = tc.createTransformationMetaQuery(qid, query, kind)
    assert res["OK"], res
sources = DiracSources(tc, None, None, None, None)
found = sources.meta_queries([qid, TID])
dirac_says = {}
for tid in (qid, TID):
    answers = []
    for kind in ("Input", "Output"):
        res = tc.getTransformationMetaQuery(tid, kind)
        answers.append(res["Value"] if res["OK"] else {})
    dirac_says[tid] = answers
tasks = sources.tasks_of_jobs([TID], JOBS)
res = tc.getTransformationTasks({"TransformationID": TID, "ExternalID": [str(j) for j in JOBS]}, inputVector=True)
assert res["OK"], res
result = {
    "queries": [[sorted(found[tid][0].items()), sorted(found[tid][1].items())] for tid in (qid, TID)],
    "dirac": [[sorted(dirac_says[tid][0].items()), sorted(dirac_says[tid][1].items())] for tid in (qid, TID)],
    "vectors": sorted([t["TaskID"], t["InputVector"]] for t in tasks),
    "dirac_vectors": sorted([t["TaskID"], t["InputVector"]] for t in res["Value"]),
    "rpcs": sources.rpcs,
}
"""


def test_bulk_reads_answer_what_dirac_own_per_item_calls_answer(dirac, world):
    """The agent reads the meta-queries and the tasks' input vectors with DIRAC's generic getCounters (one query,
    not one per transformation or per task): the answers are those of getTransformationMetaQuery and of
    getTransformationTasks(inputVector=True)."""
    jobs = [job for job, _, _ in world.jobs]
    found = dirac.py(f"TID = {world.tid}\nJOBS = {jobs}\n" + BULK_READS)
    assert found["queries"] == found["dirac"]
    new_queries = found["queries"][0]
    assert dict(map(tuple, new_queries[0]))["data_level"] == {"=": 0}
    assert found["vectors"] == found["dirac_vectors"] and len(found["vectors"]) == JOBS
    assert all(vector for _, vector in found["vectors"])
    assert found["rpcs"] == 3  # the queries, the tasks, their input vectors

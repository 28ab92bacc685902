"""A small campaign's report data, made up: two productions, a chain with a model link, jobs on two pilots."""

from __future__ import annotations

from CTAODIRAC.Core.Report.data import CampaignData, Event, Job, Production, Transformation

T0 = 1_800_000_000.0


def job(job_id: int, tid: int, pilot: str, start: float, payload: float = 20.0, status: str = "Done",
        hold: float = 30.0, queue: float = 5.0) -> Job:
    """A job whose task was created at T0 + ``start``: held, queued, 4 s of wrapper, ``payload``, 2 s upload,
    1 s of wrapper."""
    created = T0 + start
    received = created + hold
    matched = received + queue
    p0 = matched + 4
    p1 = p0 + payload
    return Job(job_id, tid, job_id, status, pilot, "CTAO.Local.ch", created, received, matched, p0, p1, p1 + 2,
               p1 + 3)


def campaign() -> CampaignData:
    prods = [Production("process-x", "Active", 1, [1, 2]), Production("apply-x", "Completed", 2, [3, 4])]
    ts = [
        Transformation(1, "00000001_Step1_process-gamma", "process-x", "Active", kind="ctapipe-process",
                       files={"Processed": 3, "Unused": 1}),
        Transformation(2, "00000001_Step2_train-energy", "process-x", "Completed", kind="ctapipe-train-energy",
                       files={"Processed": 1}, parents=[1], failed_jobs=1),
        Transformation(3, "00000002_Step1_apply-gamma", "apply-x", "Completed", kind="ctapipe-apply-models",
                       files={"Processed": 2, "MaxReset": 1}, parents=[1], model_parents=[2], given_up=1),
        Transformation(4, "00000002_Step2_merge-gamma", "apply-x", "Stopped", kind="ctapipe-merge",
                       files={"Processed": 1}, parents=[3]),
    ]  # fmt: skip
    jobs = [job(10, 1, "pilot1", 0), job(11, 1, "pilot2", 0, payload=40), job(12, 1, "pilot1", 5, queue=60),
            job(13, 2, "pilot2", 60, status="Failed"), job(14, 3, "pilot1", 100), job(15, 4, "", 120, payload=5)]
    jobs.append(Job(16, 3, 16, "Waiting", "", "", T0 + 150, T0 + 180))  # received, never matched
    events = [Event(T0 + 70, "fault", "kill-agent", "Transformation/InputDataAgent"),
              Event(T0 + 100, "decision", "retry", "application job 13"),
              Event(T0 + 130, "decision", "give-up", "input-data")]  # fmt: skip
    return CampaignData("campaign Toytest", prods, ts, jobs, events, ["/m/energy.pkl"], ["/d/gamma.dl2.h5"],
                        wall_seconds=300.0, pilots=2)

"""The pure decisions of a production job (CTAODIRAC.Core.JobSide)."""

from __future__ import annotations

from pathlib import Path

import pytest

from CTAODIRAC.Core.JobSide import (
    Software,
    StepConfig,
    collect_outputs,
    config_in_body,
    decode_config,
    encode_config,
    file_metadata,
    input_fates,
    job_values,
    output_lfn,
    payload_command,
    send_once,
    step_config,
    task_run_number,
    with_job_values,
)
from CTAODIRAC.Core.Production.loader import load_plan

EXAMPLES = Path(__file__).parents[3] / "examples"


def _config(kind: str, **extra) -> StepConfig:
    return StepConfig(step="s", kind=kind, program=f"prog-{kind}", output_dir="/ctao/p/s", output_se="SE", **extra)


def test_config_survives_the_job_arguments():
    cfg = _config("ctapipe-process", options=["--a", "b c"], models={"m": {"x": {"=": 0}}})
    token = encode_config(cfg)
    assert token.replace("-", "").replace("_", "").replace("=", "").isalnum()  # one shell-safe word
    assert decode_config(token) == cfg


def test_config_is_found_in_a_transformation_body():
    from DIRAC.Interfaces.API.Job import Job  # the body is DIRAC's workflow XML

    cfg = _config("ctapipe-apply-models", models={"train-energy": {"outputType": {"=": "Model"}}})
    job = Job()
    job.setName("apply-models-gamma")
    job.setExecutable("dirac-ctao-run-step", arguments=encode_config(cfg), logFile="apply.out")
    assert config_in_body(job.workflow.toXML()) == cfg
    other = Job()
    other.setExecutable("ctapipe-merge", arguments="--output=" + "x" * 60)
    assert config_in_body(other.workflow.toXML()) is None


@pytest.mark.parametrize(
    ("kind", "inputs", "expected"),
    [
        ("ctapipe-process", ["run1.toydl0.json"], ["prog-ctapipe-process", "--input=run1.toydl0.json",
                                                    "--output=run1.process.h5"]),
        ("ctapipe-merge", ["a.h5", "b.h5"], ["prog-ctapipe-merge", "a.h5", "b.h5", "--output=s_00000007.merge.h5"]),
        ("ctapipe-train-energy", ["g.h5"], ["prog-ctapipe-train-energy", "--input=g.h5", "--output=g.train-energy.pkl"]),
    ],
)
def test_payload_commands(kind, inputs, expected):
    command, outputs = payload_command(_config(kind), inputs, {}, 7)
    assert command == expected
    assert outputs == [expected[-1].split("=", 1)[1]]


def test_classifier_trains_gammas_against_the_rest_and_apply_uses_every_model():
    cmd, _ = payload_command(_config("ctapipe-train-classifier"), ["p.h5", "g.h5"], {}, 1,
                             {"p.h5": "proton", "g.h5": "gamma-diffuse"})
    assert "--signal=g.h5" in cmd and "--background=p.h5" in cmd
    with pytest.raises(ValueError, match="one gamma and one background"):
        payload_command(_config("ctapipe-train-classifier"), ["p.h5", "q.h5"], {}, 1, {"p.h5": "proton"})
    # the models are applied in the order the step lists them (energy first: the classifier may use it), whatever
    # order the job found their files in (the campaign run failed when they were sorted by name)
    config = _config("ctapipe-apply-models", models={"train-energy": {}, "train-classifier": {}})
    cmd, outputs = payload_command(config, ["x.h5"], {"train-classifier": "c.pkl", "train-energy": "e.pkl"}, 1)
    assert cmd[-2:] == ["--reconstructor=e.pkl", "--reconstructor=c.pkl"] and outputs == ["x.apply-models.h5"]


def test_software_setups():
    assert Software().wrap(["tool", "x"]) == ["tool", "x"]
    wrapped = Software(kind="path", location="/cvmfs/ctao/v1").wrap(["tool", "a b"])
    assert wrapped[:2] == ["/bin/sh", "-c"] and "/cvmfs/ctao/v1/bin" in wrapped[2] and "'a b'" in wrapped[2]
    assert Software(kind="container", location="img.sif").wrap(["tool"])[-2:] == ["img.sif", "tool"]


def test_a_software_setup_missing_on_the_worker_is_said(tmp_path):
    area = tmp_path / "env"
    (area / "bin").mkdir(parents=True)
    tool = area / "bin" / "ctapipe-process"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert Software(kind="venv", location=str(area)).missing("ctapipe-process", path="") is None
    assert "not found" in Software(kind="venv", location=str(area)).missing("ctapipe-merge", path="")
    # the area is not mounted on this worker (e.g. CVMFS)
    problem = Software(kind="path", location=str(tmp_path / "cvmfs")).missing("ctapipe-process", path="")
    assert problem == f"software area {tmp_path / 'cvmfs' / 'bin'} not found on this worker"
    assert Software().missing("ctapipe-process", path=str(area / "bin")) is None
    assert Software().missing("ctapipe-process", path="") == "'ctapipe-process' not found on the worker's PATH"
    assert Software(kind="container", location="img.sif").missing("anything", path="") is None


def test_output_lfn_and_file_metadata():
    cfg = _config("ctapipe-merge", output_metadata={"split": {"=": "performance"}, "particle": {"=": "gamma"},
                                                    "nsb": {"in": [1, 5]}},
                  file_level_fields=["nsb", "split", "run_number"], inherited_fields=["nsb"])
    assert output_lfn(cfg, 12, "/tmp/x.h5") == "/ctao/p/s/00000012/x.h5"
    # single-valued file-level fields; nsb inherited only when all inputs agree; particle is directory metadata
    assert file_metadata(cfg, [{"nsb": 5}, {"nsb": 5}], run_number=3) == {"split": "performance", "nsb": 5,
                                                                           "run_number": 3}
    assert file_metadata(cfg, [{"nsb": 5}, {"nsb": 1}]) == {"split": "performance"}
    assert file_metadata(cfg, [{"nsb": 5}, {}]) == {"split": "performance"}


@pytest.mark.parametrize(
    ("payload_ok", "expected", "registered", "failover", "fate"),
    [
        (True, 2, 2, 0, "Processed"),
        (True, 2, 1, 1, "Failover"),  # Processed only by the failover request, after its uploads
        (True, 2, 1, 0, "Untouched"),  # an output lost: never Processed
        (False, 1, 0, 0, "Untouched"),
        (True, 0, 0, 0, "Processed"),  # a step without outputs
    ],
)
def test_an_input_is_never_processed_without_its_outputs(payload_ok, expected, registered, failover, fate):
    assert input_fates(payload_ok, expected, registered, failover) == fate


def test_step_config_from_the_campaign_plan():
    plan = load_plan(EXAMPLES / "ctapipe_campaign.yaml")
    step = plan.step("apply-models-gamma-performance")
    cfg = step_config(step, "/ctao/prod/x", "SE-A", ["SE-B"])
    assert cfg.kind == "ctapipe-apply-models" and cfg.program == "ctapipe-apply-models"
    assert set(cfg.models) == {"train-energy", "train-classifier"}
    assert cfg.models["train-energy"] == dict(step.job.models["train-energy"])  # every condition single-valued
    # the classifier trains on gamma-diffuse and proton: its model carries no particle, so the query that must
    # find it leaves that condition out (the campaign run found this: the apply steps waited forever)
    assert step.job.models["train-classifier"]["particle"] == {"in": ["gamma-diffuse", "proton"]}
    assert "particle" not in cfg.models["train-classifier"]
    assert {k: v for k, v in step.job.models["train-classifier"].items() if k != "particle"} == cfg.models[
        "train-classifier"]
    assert cfg.failover_ses == ["SE-B"] and cfg.output_metadata == dict(step.output_query)
    assert "split" not in cfg.inherited_fields  # the step's own output query sets it


def test_an_output_never_overwrites_its_input():
    # a second merge of one merged file would otherwise write over its own input
    command, outputs = payload_command(_config("ctapipe-merge"), ["x.merge.h5"], {}, 3)
    assert outputs == ["x.s.h5"] and command[-1] == "--output=x.s.h5"


SIMULATION = """
format: 1
productions:
  - name: sim
    steps:
      - name: simulate
        kind: mc-simulation
        version: v1
        jobs: 3
        showers: 50
        options: --run @{run_number} --showers @{showers}
        output: {site: LaPalma, particle: gamma}
      - name: count
        kind: executable
        executable: count-events
        arguments: --job @{transformation_id}_@{task_id}
        outputs: ["*.count.txt", "summary.json"]
        parents: [simulate]
"""


def test_simulation_and_executable_steps_collect_files_by_pattern(tmp_path):
    path = tmp_path / "sim.yaml"
    path.write_text(SIMULATION)
    plan = load_plan(path)
    sim = step_config(plan.step("simulate"), "/ctao/sim/simulate", "SE")
    assert sim.outputs == ["*.simtel.zst"] and sim.showers == 50  # sim_telarray's default outputs
    count = step_config(plan.step("count"), "/ctao/sim/count", "SE")
    assert count.outputs == ["*.count.txt", "summary.json"]
    # a simulation job runs its program without inputs; an executable gets its inputs appended
    assert payload_command(sim, [], {}, 4) == (
        ["sim_telarray", "--run", "@{run_number}", "--showers", "@{showers}"], [])
    assert payload_command(count, ["a.simtel.zst"], {}, 4)[0][-1] == "a.simtel.zst"


def test_a_job_replaces_its_placeholders():
    sim = _config("mc-simulation", options=["--run=@{run_number}", "-n", "@{showers}", "@{task_id}"], showers=50)
    values = job_values(sim, 12, 4, task_run_number([], 4))
    assert values == {"transformation_id": "12", "task_id": "4", "run_number": "4", "showers": "50"}
    assert with_job_values(sim, values).options == ["--run=4", "-n", "50", "4"]
    # inputs that disagree on their run number give none: a step that asks for it cannot run
    assert task_run_number([{"run_number": 1}, {"run_number": 2}], 4) is None
    assert task_run_number([{"run_number": 1}, {}], 4) is None
    assert task_run_number([{"run_number": 7}, {"run_number": 7}], 4) == 7
    merge = _config("executable", options=["--run", "@{run_number}"])
    with pytest.raises(ValueError, match="@{run_number} has no value"):
        with_job_values(merge, job_values(merge, 12, 4, None))


def test_outputs_are_the_new_files_that_match():
    before = {"input.simtel.zst", "jobDescription.xml", "old.count.txt"}
    after = [*before, "run4.count.txt", "summary.json", "s.log", "core.1234"]
    files, unmatched = collect_outputs(["*.count.txt", "summary.json", "*.zst"], before, after, exclude={"s.log"})
    assert files == ["run4.count.txt", "summary.json"]  # never an input, a file that was there, or the log
    assert unmatched == ["*.zst"]
    assert collect_outputs(["*"], before, after, exclude={"s.log"}) == (["core.1234", "run4.count.txt",
                                                                          "summary.json"], [])


def _service(answers: list[str | None], stored: list[bool | None]):
    """A request service whose calls answer ``answers`` in turn (None: taken) and whose look-ups ``stored``."""
    calls = {"send": 0, "stored": 0, "pauses": []}

    def send():
        calls["send"] += 1
        return answers.pop(0)

    def lookup():
        calls["stored"] += 1
        return stored.pop(0)

    return send, lookup, calls["pauses"].append, calls


def test_a_request_taken_at_once_is_sent_once():
    send, lookup, pause, calls = _service([None], [])
    assert send_once(send, lookup, pause) == (True, [])
    assert (calls["send"], calls["stored"], calls["pauses"]) == (1, 0, [])


def test_a_failed_call_is_tried_again_after_a_pause():
    send, lookup, pause, calls = _service(["Lost connection", None], [False])
    assert send_once(send, lookup, pause, pauses=(2, 5)) == (True, ["Lost connection"])
    assert (calls["send"], calls["pauses"]) == (2, [2])


def test_a_request_stored_although_the_call_failed_is_not_sent_again():
    send, lookup, pause, calls = _service(["timeout"], [True])
    assert send_once(send, lookup, pause, pauses=(2, 5)) == (True, ["timeout"])
    assert (calls["send"], calls["pauses"]) == (1, [])  # a second send would make two requests of one job


def test_a_request_that_never_arrives_is_reported_after_every_try():
    send, lookup, pause, calls = _service(["a", "b", "c"], [None, False, None])
    assert send_once(send, lookup, pause, pauses=(2, 5)) == (False, ["a", "b", "c"])
    assert (calls["send"], calls["stored"], calls["pauses"]) == (3, 3, [2, 5])  # no pause after the last

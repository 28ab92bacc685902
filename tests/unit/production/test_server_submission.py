"""The one-call submission: the request's round trip (pure), the check of the server's answer (pure), and how
the client turns the server's answers into results or errors (a fake RPC client, no DIRAC service)."""

from __future__ import annotations

import json

import pytest

from CTAODIRAC.Core.Production import load_plan
from CTAODIRAC.Core.Production.submission import (
    REQUEST_FORMAT,
    production_digest,
    read_request,
    returned_problems,
    submission_request,
)

from .conftest import EXAMPLES

CAMPAIGN = EXAMPLES / "ctapipe_campaign.yaml"


def _answer(plan) -> list[dict]:
    """What a server answers for ``plan`` when it made every production."""
    tid = iter(range(100, 1000))
    return [
        {"name": p.name, "production_id": i + 1, "state": "created", "digest": production_digest(p),
         "transformations": [{"name": s.name, "transformation_id": next(tid), "transformation_name": f"x_{s.name}",
                              "type": s.type} for s in p.steps]}
        for i, p in enumerate(plan.productions)
    ]  # fmt: skip


def test_the_request_gives_back_the_same_plan_digests_and_settings() -> None:
    plan = load_plan(CAMPAIGN)
    text = submission_request(plan, "/ctao/x", "SE-1", ["F-1"], {"kind": "path", "location": "/cvmfs/x"})
    again, base, settings = read_request(text)
    assert base == "/ctao/x"
    assert settings == {"output_se": "SE-1", "failover_ses": ["F-1"], "software": {"kind": "path", "location": "/cvmfs/x"}}
    assert [production_digest(p) for p in again.productions] == [production_digest(p) for p in plan.productions]
    assert [s.model_dump() for s in again.steps] == [s.model_dump() for s in plan.steps]
    assert returned_problems(plan, _answer(again)) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "not JSON"),
        (json.dumps({"format": REQUEST_FORMAT + 1, "plan": {}}), "client's and the server's CTAODIRAC differ"),
        (json.dumps({"format": REQUEST_FORMAT, "plan": {"format": "native"}, "base_path": "/x"}), "no valid plan"),
    ],
)
def test_a_bad_request_is_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        read_request(text)


def test_an_answer_for_another_plan_is_noticed() -> None:
    plan = load_plan(CAMPAIGN)
    answer = _answer(plan)
    answer[0]["digest"] = "0" * 16
    answer[1]["transformations"].pop()
    answer[2]["transformations"][0]["transformation_id"] = 0
    answer.append({"name": "stranger", "transformations": []})
    del answer[3]
    problems = returned_problems(plan, answer)
    assert len(problems) == 5, problems
    assert any("digest" in p for p in problems) and any("stranger" in p for p in problems)


class FakeClient:
    """Answers ``submitProductions`` with a fixed DIRAC result; remembers the request."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def executeRPC(self, request, call, timeout=None):  # noqa: N802 - DIRAC's name
        self.calls.append((call, json.loads(request)))
        return self.result(json.loads(request)) if callable(self.result) else self.result


@pytest.fixture
def server_submitter():
    pytest.importorskip("DIRAC")
    from CTAODIRAC.ProductionSystem.Client.ServerSubmission import ServerSubmitter

    def make(result, lines=None):
        client = FakeClient(result)
        return ServerSubmitter("/ctao/t", say=(lines.append if lines is not None else lambda _: None),
                               output_se="SE", client=client), client  # fmt: skip

    return make


def test_one_call_carries_the_whole_plan_and_the_answer_becomes_the_results(server_submitter) -> None:
    plan = load_plan(CAMPAIGN)
    lines: list[str] = []

    def serve(request):
        served, _, _ = read_request(json.dumps(request))
        return {"OK": True, "Value": {"productions": _answer(served), "log": ["production a: created"]}}

    submitter, client = server_submitter(serve, lines)
    results = submitter.submit(plan)
    assert [c[0] for c in client.calls] == ["submitProductions"]
    assert client.calls[0][1]["output_se"] == "SE" and client.calls[0][1]["base_path"] == "/ctao/t"
    assert [p.name for p in results] == [p.name for p in plan.productions]
    assert sum(len(p.steps) for p in results) == len(plan.steps) == 29
    assert lines == ["[server] production a: created"]


def test_the_servers_failure_keeps_what_was_left(server_submitter) -> None:
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import SubmissionError

    failed = {"OK": False, "Message": "production p: extendTransformation: injected",
              "Submission": {"left": ["p"], "left_how": "run it again", "log": ["step s: extended"]}}  # fmt: skip
    submitter, _ = server_submitter(failed)
    with pytest.raises(SubmissionError) as caught:
        submitter.submit(load_plan(CAMPAIGN))
    assert caught.value.left == ["p"] and caught.value.left_how == "run it again"
    assert "extendTransformation: injected" in str(caught.value)


def test_a_manager_without_the_method_is_a_clear_error_and_nothing_is_left(server_submitter) -> None:
    from CTAODIRAC.ProductionSystem.Client.ServerSubmission import ServiceMissing

    submitter, _ = server_submitter({"OK": False, "Message": "Unknown method submitProductions"})
    with pytest.raises(ServiceMissing, match="--client-side") as caught:
        submitter.submit(load_plan(CAMPAIGN))
    assert caught.value.left == []


def test_a_refused_call_left_nothing_and_a_lost_answer_left_something_unknown(server_submitter) -> None:
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import SubmissionError

    submitter, _ = server_submitter({"OK": False, "Message": "Unauthorized query ( 1111 : Unauthorized query)"})
    with pytest.raises(SubmissionError) as refused:
        submitter.submit(load_plan(CAMPAIGN))
    assert refused.value.left == []
    submitter, _ = server_submitter({"OK": False, "Message": "Connection lost: timed out"})
    with pytest.raises(SubmissionError) as lost:
        submitter.submit(load_plan(CAMPAIGN))
    assert lost.value.left is None and "run the same command again" in lost.value.left_how


def test_an_answer_for_another_plan_is_an_error(server_submitter) -> None:
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import SubmissionError

    plan = load_plan(CAMPAIGN)
    answer = _answer(plan)
    answer[0]["digest"] = "f" * 16
    submitter, _ = server_submitter({"OK": True, "Value": {"productions": answer, "log": []}})
    with pytest.raises(SubmissionError, match="does not match this plan"):
        submitter.submit(plan)


def test_client_side_needs_submit(run_cli) -> None:
    assert run_cli(str(CAMPAIGN), "--client-side").code == 2


def test_the_handler_acts_for_a_user_and_restores_the_thread_but_never_delegates_a_host() -> None:
    pytest.importorskip("DIRAC")
    from DIRAC.Core.DISET.ThreadConfig import ThreadConfig

    from CTAODIRAC.ProductionSystem.Service.ProductionManagerHandler import acting_for

    config = ThreadConfig()
    before = config.getID()
    with acting_for({"DN": "/CN=prodmgr", "group": "ctao_prodmgr", "username": "prodmgr"}):
        assert config.getID() == ("/CN=prodmgr", "ctao_prodmgr")
    assert config.getID() == before
    with acting_for({"DN": "/CN=host.example", "group": "hosts"}):
        assert config.getID() == before
    with pytest.raises(RuntimeError), acting_for({"DN": "/CN=prodmgr", "group": "ctao_prodmgr"}):
        raise RuntimeError("the submission failed")
    assert config.getID() == before

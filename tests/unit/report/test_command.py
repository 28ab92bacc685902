"""``dirac-ctao-campaign-report``: its usage, without DIRAC."""

from __future__ import annotations

import pytest

from CTAODIRAC.ProductionSystem.scripts.dirac_ctao_campaign_report import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    out, err = capsys.readouterr()
    return code, out + err


def test_help_names_every_option(capsys):
    code, out = run(capsys, "--help")
    assert code == 0
    for option in ("--output", "--dl2", "--dl2-outputs", "--ctapipe-python", "--title", "--json"):
        assert option in out, option


def test_no_production_is_a_usage_error(capsys):
    assert run(capsys)[0] == 2

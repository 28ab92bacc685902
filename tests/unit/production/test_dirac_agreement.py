"""Our pure re-statements agree with DIRAC's own code (run only where DIRAC is installed).

These tests import DIRAC on purpose: they check the core against the functions it imitates.
"""

from __future__ import annotations

import pytest

from CTAODIRAC.Core.Production.metaquery import check_link, normalize_query

pytest.importorskip("DIRAC")


def _dirac_link_ok(child: dict, parent: dict) -> bool:
    import copy

    from DIRAC.ProductionSystem.Utilities.ProdValidator import ProdValidator

    validator = ProdValidator.__new__(ProdValidator)  # no TransformationClient needed for these methods
    child_fmt = validator.checkformatQuery(copy.deepcopy(child))
    parent_fmt = validator.checkformatQuery(copy.deepcopy(parent))
    if not child_fmt["OK"] or not parent_fmt["OK"]:
        return False
    for key, value in child_fmt["Value"].items():
        if key not in parent_fmt["Value"]:
            return False
        if not validator.compareValues(value, parent_fmt["Value"][key]):
            return False
    return True


CASES = [
    ({"phiP": 0}, {"phiP": 0, "particle": "gamma"}),
    ({"phiP": 180}, {"phiP": 0}),
    ({"particle": ["gamma", "proton"]}, {"particle": "gamma"}),
    ({"particle": "gamma"}, {"particle": ["gamma", "proton"]}),
    ({"nsb": [1, 5]}, {"nsb": [5, 19]}),
    ({"split": "x"}, {"particle": "gamma"}),
    ({"thetaP": {">=": 20}}, {"thetaP": 20}),
    ({"thetaP": 20.0}, {"thetaP": [20.0, 40.0]}),
]


@pytest.mark.parametrize(("child", "parent"), CASES)
def test_check_link_agrees_with_prodvalidator(child: dict, parent: dict) -> None:
    encoded_child, encoded_parent = normalize_query(child), normalize_query(parent)
    assert (check_link(encoded_child, encoded_parent) == []) == _dirac_link_ok(encoded_child, encoded_parent)


@pytest.mark.parametrize("query", [{"phiP": 0}, {"merged": 0, "thetaP": 20.0}, {"nsb": [1, 5], "sct": "False"}])
def test_encoded_queries_round_trip_through_dirac_safereval(query: dict) -> None:
    from DIRAC.Core.Utilities.SaferEval import saferEval

    for cond in normalize_query(query).values():
        assert saferEval(str(cond)) == cond


def test_dirac_metaquery_matches_zero_in_operator_form() -> None:
    from DIRAC.DataManagementSystem.Client.MetaQuery import MetaQuery

    types = {"phiP": "INT", "thetaP": "FLOAT", "particle": "VARCHAR(128)"}
    query = MetaQuery(normalize_query({"phiP": 0, "thetaP": 20.0, "particle": "proton"}), types)
    assert query.applyQuery({"phiP": 0, "thetaP": 20.0, "particle": "proton"})["Value"] is True
    assert query.applyQuery({"phiP": 180, "thetaP": 20.0, "particle": "proton"})["Value"] is False

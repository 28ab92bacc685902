"""Query encoding (zero values survive the TS) and DIRAC's link rules."""

from __future__ import annotations

import pytest

from CTAODIRAC.Core.Production.metaquery import (
    check_link,
    condition,
    normalize_query,
    stored_length_problems,
    union_queries,
)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, {"=": 0}),
        (180, {"=": 180}),
        (20.0, {"=": 20.0}),
        ("", {"=": ""}),
        ("gamma", {"=": "gamma"}),
        ([1, 5], {"in": [1, 5]}),
        ([1, 1], {"=": 1}),
        (["x"], {"=": "x"}),
        ([20.0, 40.0], {"in": [20.0, 40.0]}),
        ({">=": 20}, {">=": 20}),
        ({"in": ["a"]}, {"=": "a"}),
        ({"=": [1, 2]}, {"in": [1, 2]}),
    ],
)
def test_every_value_is_encoded_in_operator_form(value, encoded) -> None:
    assert condition(value) == encoded


def _ts_store_and_read(query: dict) -> dict:
    """What DIRAC 9.1's TransformationDB.__addMetaQuery / getTransformationMetaQuery do to a query
    (re-stated here, the test below compares with DIRAC's own code where it can)."""
    import ast

    stored = {}
    for name in sorted(query):
        value = query[name]
        if not value:  # the TS drops falsy values
            continue
        if isinstance(value, dict):
            stored[name] = ast.literal_eval(str(value))
        elif isinstance(value, list):
            stored[name] = ";;;".join(value)  # fails for lists of numbers that are not int
        else:
            stored[name] = str(value) if not isinstance(value, int) else int(str(value))
    return stored


def test_south_pointing_zero_survives_storage() -> None:
    plain = {"phiP": 0, "merged": 0, "particle": "proton"}
    assert "phiP" not in _ts_store_and_read(plain)  # the predecessor's problem
    encoded = normalize_query(plain)
    assert encoded == {"phiP": {"=": 0}, "merged": {"=": 0}, "particle": {"=": "proton"}}
    assert _ts_store_and_read(encoded) == encoded


def test_floats_survive_storage() -> None:
    encoded = normalize_query({"thetaP": [20.0, 40.0], "zenith": 20.0})
    assert _ts_store_and_read(encoded) == encoded


def test_link_accepts_subset_and_superset() -> None:
    parent = normalize_query({"particle": ["gamma", "proton"], "phiP": 0})
    assert check_link(normalize_query({"particle": "gamma", "phiP": 0}), parent) == []
    assert check_link(normalize_query({"particle": ["gamma", "proton", "electron"]}), parent) == []


def test_link_rejects_disjoint_values() -> None:
    problems = check_link(normalize_query({"phiP": 180}), normalize_query({"phiP": 0}))
    assert len(problems) == 1 and "'phiP' selects 180 but the parent produces 0" in problems[0]


def test_link_rejects_overlapping_but_not_nested_values() -> None:
    problems = check_link(normalize_query({"nsb": [1, 5]}), normalize_query({"nsb": [5, 19]}))
    assert problems and "one value set must contain the other" in problems[0]


def test_link_rejects_keys_missing_from_parent_output() -> None:
    problems = check_link(normalize_query({"split": "train"}), normalize_query({"particle": "gamma"}))
    assert problems == ["'split' is not in the parent's output query (its keys: particle)"]


def test_link_rejects_other_operators() -> None:
    problems = check_link(normalize_query({"thetaP": {">=": 20}}), normalize_query({"thetaP": 20}))
    assert "only use '=' or 'in'" in problems[0]


def test_link_needs_both_queries() -> None:
    assert len(check_link({}, {})) == 2


def test_link_numbers_compare_by_value_strings_do_not() -> None:
    assert check_link(normalize_query({"thetaP": 20}), normalize_query({"thetaP": 20.0})) == []
    assert check_link(normalize_query({"merged": "1"}), normalize_query({"merged": 1}))


def test_union_keeps_common_keys_and_unites_values() -> None:
    a = normalize_query({"particle": "gamma", "split": "x", "only_a": 1})
    b = normalize_query({"particle": "proton", "split": "x"})
    assert union_queries([a, b]) == {"particle": {"in": ["gamma", "proton"]}, "split": {"=": "x"}}


def test_too_long_values_are_reported() -> None:
    query = normalize_query({"run": list(range(1000))})
    assert stored_length_problems(query)
    assert not stored_length_problems(normalize_query({"run": list(range(10))}))

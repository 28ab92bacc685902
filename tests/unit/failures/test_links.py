"""Parents in other productions, found by the stored queries."""

from __future__ import annotations

from CTAODIRAC.Core.Failures.links import feeds, implicit_parents

DL1 = {"MCCampaign": {"=": "P"}, "particle": {"=": "gamma"}, "data_level": {"=": 1}, "merged": {"=": 0}}


def test_a_parent_feeds_a_child_when_every_child_key_shares_a_value():
    merged = {"MCCampaign": {"=": "P"}, "particle": {"in": ["gamma", "proton"]}, "data_level": {"=": 1},
              "merged": {"=": 1}}
    assert feeds(merged, {"MCCampaign": {"=": "P"}, "particle": {"=": "gamma"}, "merged": {"=": 1}})
    assert not feeds(merged, {"MCCampaign": {"=": "Q"}, "merged": {"=": 1}})  # another campaign
    assert not feeds(DL1, {"MCCampaign": {"=": "P"}, "merged": {"=": 1}})  # merged 0 is not 1
    assert not feeds(DL1, {"MCCampaign": {"=": "P"}, "split": {"=": "train"}})  # a key the parent does not set
    assert not feeds({}, DL1) and not feeds(DL1, {})
    assert feeds({"thetaP": {"=": 20}}, {"thetaP": {"=": 20.0}})  # one catalog value
    assert not feeds({"run": {"=": "1"}}, {"run": {"=": 1}})
    assert not feeds({"x": {">": 1}}, {"x": {"=": 2}})  # another operator: cannot tell


def test_implicit_parents_leave_out_transformations_feeding_each_other():
    loose = {"MCCampaign": {"=": "P"}}
    queries = {
        1: ({}, DL1),  # first level: no input query
        2: (DL1, {**DL1, "merged": {"=": 1}}),
        3: ({**DL1, "merged": {"=": 1}}, {"model": {"=": "energy"}}),
        4: (loose, loose),  # feeds (and is fed by) 5 ...
        5: (loose, loose),
    }
    parents = implicit_parents(queries)
    assert parents[2] == {1}
    assert parents[3] == {2}
    assert 1 not in parents
    # 4 and 5 feed each other: no parent of each other (4 and 5 are fed by 1, 2 too: their query is that loose)
    assert 5 not in parents.get(4, set()) and 4 not in parents.get(5, set())

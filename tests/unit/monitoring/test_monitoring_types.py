"""This extension's monitoring types and plotters are what DIRAC's Monitoring system loads (no services needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from CTAODIRAC.Core.Monitoring import (
    DECISION_KEY_FIELDS,
    DECISION_MONITORING_FIELDS,
    PROGRESS_KEY_FIELDS,
    PROGRESS_MONITORING_FIELDS,
)

# in a subprocess: DIRAC's loaders keep global state; the plotters' link is what `dirac-ctao-local up` makes for an
# editable install (see CTAODIRAC.LocalDIRAC.control.link_extension_plotters)
LOADED = r"""
import json
from DIRAC.Core.Utilities.Plotting.TypeLoader import TypeLoader
from DIRAC.MonitoringSystem.private.MainReporter import PlottersList
from CTAODIRAC.LocalDIRAC.control import link_extension_plotters
link_extension_plotters()
types = TypeLoader("Monitoring").getTypes()
plotters = PlottersList()
out = {}
for name in ("FailureDecisions", "ProductionProgress"):
    kind = types[name]()
    plotter = plotters.getPlotterClass(name)
    out[name] = {
        "module": types[name].__module__, "index": kind._getIndex(), "period": kind.period,
        "keys": kind.keyFields, "values": kind.monitoringFields,
        "mapping": {k: v["type"] for k, v in kind.mapping["properties"].items()},
        "reports": plotter["Value"](None).plotsList() if plotter["OK"] else None,
    }
print(json.dumps(out))
"""


def test_dirac_loads_the_types_and_their_plotters():
    proc = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    decisions, progress = found["FailureDecisions"], found["ProductionProgress"]
    assert decisions["module"] == "CTAODIRAC.MonitoringSystem.Client.Types.FailureDecisions"
    assert (decisions["index"], decisions["period"]) == ("failuredecisions-index", "day")
    assert (decisions["keys"], decisions["values"]) == (list(DECISION_KEY_FIELDS), list(DECISION_MONITORING_FIELDS))
    assert (progress["keys"], progress["values"]) == (list(PROGRESS_KEY_FIELDS), list(PROGRESS_MONITORING_FIELDS))
    for kind in (decisions, progress):
        assert kind["mapping"]["timestamp"] == "date"
        assert {kind["mapping"][k] for k in kind["keys"]} == {"keyword"}
        assert {kind["mapping"][v] for v in kind["values"]} == {"long"}
    assert decisions["reports"] == ["Failure-agent decisions", "Files in failure-agent decisions"]
    assert progress["reports"] == ["Files per status"]


def test_a_type_without_records_yet_is_plotted_as_no_data_not_as_an_error():
    """OpenSearch answers a search of an index pattern matching no index without aggregations, and DIRAC's
    MonitoringDB raises KeyError of the aggregation's name: the plotters give empty data ("No data" picture)."""
    from CTAODIRAC.MonitoringSystem.private.Plotters.FailureDecisionsPlotter import FailureDecisionsPlotter
    from CTAODIRAC.MonitoringSystem.private.Plotters.ProductionProgressPlotter import ProductionProgressPlotter

    def missing(name):
        def retrieve(*args, **kwargs):
            raise KeyError(name)

        return retrieve

    day = {"startTime": 1_700_000_000, "endTime": 1_700_086_400}
    decisions = FailureDecisionsPlotter(None)  # simple aggregations: "end_data"
    decisions._retrieveAggregatedData = missing("end_data")
    request = {**day, "condDict": {"Class": ["application"], "grouping": ["Site"]}}
    report = decisions._reportNumberOfDecisions(request)
    assert report["OK"] and report["Value"]["data"] == {} and report["Value"]["granularity"] > 0
    progress = ProductionProgressPlotter(None)  # bucketed: "<field>_<grouping>"
    progress._retrieveBucketedData = missing("Files_Status")
    report = progress._reportNumberOfFiles({**day, "condDict": {"grouping": ["Status"]}})
    assert report["OK"] and report["Value"]["data"] == {}
    progress._retrieveBucketedData = missing("something else")  # any other KeyError is a bug: not hidden
    with pytest.raises(KeyError):
        progress._reportNumberOfFiles({**day, "condDict": {"grouping": ["Status"]}})

"""The Production Monitor's page data (pure assembly, no DIRAC call), the portal's static files and its settings."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from CTAODIRAC.LocalDIRAC import portal
from CTAODIRAC.WebApp import portal as launcher

launcher._restore_collections_aliases()  # tornado 5.1.1 (imported by WebAppDIRAC) needs them on Python >= 3.10
from tornado.web import HTTPError  # noqa: E402

from CTAODIRAC.WebApp.handler.ProductionMonitorHandler import (  # noqa: E402
    PLOTS,
    assemble,
    error_image,
    plot_request,
    production_of,
)

WHEN = datetime(2026, 1, 2, 3, 4, 5)


def _trans(tid: int, name: str, ttype: str = "Processing", status: str = "Active") -> dict:
    return {"TransformationID": tid, "TransformationName": name, "Type": ttype, "Status": status,
            "AgentType": "Automatic", "LastUpdate": WHEN}  # fmt: skip


def test_production_id_is_read_from_the_names_dirac_gives_transformations():
    assert production_of("00000012_Step1_process") == 12
    assert production_of("my-own-transformation") is None
    assert production_of("") is None


def test_rows_carry_files_per_status_progress_and_the_failure_agents_counts():
    productions = [{"ProductionID": 12, "ProductionName": "p12", "Status": "Active", "Author": "prodmgr",
                    "CreationDate": WHEN}]  # fmt: skip
    transformations = [_trans(5, "00000012_Step1_a"), _trans(6, "00000012_Step2_b", "Merging"), _trans(7, "free")]
    counters = [
        ({"TransformationID": 5, "Status": "Processed"}, 6),
        ({"TransformationID": 5, "Status": "Unused"}, 2),
        ({"TransformationID": 5, "Status": "Problematic"}, 1),
        ({"TransformationID": 5, "Status": "Removed"}, 1),
        ({"TransformationID": 6, "Status": "Processed-inherited"}, 3),
    ]
    summary = [
        {"TransformationID": 5, "Kind": "retry", "Decisions": 3, "Files": 3},
        {"TransformationID": 5, "Kind": "give-up", "Decisions": 1, "Files": 1},
        {"TransformationID": 5, "Kind": "avoid-site", "Decisions": 2, "Files": 2},
        {"TransformationID": None, "Kind": "complete-production", "Decisions": 1, "Files": 0},  # a production's
    ]
    data = assemble(productions, transformations, counters, summary)
    rows = {r["TransformationID"]: r for r in data["transformations"]}
    assert [r["TransformationID"] for r in data["transformations"]] == [7, 6, 5]
    five = rows[5]
    assert (five["Files"], five["Processed"], five["Unused"], five["Problematic"], five["Removed"]) == (10, 6, 2, 1, 1)
    assert five["Progress"] == 0.7 and five["Failed"] == 4 and five["GivenUp"] == 1 and five["ProductionID"] == 12
    assert rows[6]["Other"] == 3 and rows[6]["Progress"] == 1.0
    assert rows[7]["ProductionID"] is None and rows[7]["Files"] == 0 and rows[7]["Progress"] == 0.0
    (prod,) = data["productions"]
    counts = (prod["Transformations"], prod["Files"], prod["Processed"], prod["Failed"], prod["GivenUp"])
    assert counts == (2, 13, 6, 4, 1)
    assert prod["Progress"] == pytest.approx(10 / 13, abs=1e-4)


def test_plots_select_the_transformation_else_the_production_else_everything():
    now = datetime(2026, 1, 2, 3, 0, 0)
    progress = plot_request("progress", "12", "34", "week", now, 500, 5000)
    assert (progress["typeName"], progress["reportName"], progress["grouping"]) == (
        "ProductionProgress", "NumberOfFiles", "Status",
    )  # fmt: skip
    assert progress["condDict"] == {"Transformation": ["34"], "grouping": ["Status"]}
    assert (progress["startTime"], progress["endTime"]) == (datetime(2025, 12, 26, 3, 0, 0), now)
    assert progress["extraArgs"] == {"plotTitle": "Files per status, transformation 34", "width": 500, "height": 1600}
    classes = plot_request("classes", "12", "", "day", now)
    assert classes["condDict"] == {"Action": ["retry", "give-up", "leave"], "Production": ["12"], "grouping": ["Class"]}
    assert (classes["typeName"], classes["reportName"]) == ("FailureDecisions", "NumberOfDecisions")
    assert "width" not in classes["extraArgs"]
    sites = plot_request("sites", "", "", "month", now, 100, 100)
    assert sites["condDict"] == {"Action": ["retry", "give-up", "leave"], "grouping": ["Site"]}
    assert sites["extraArgs"] == {"plotTitle": "Failures by site, all productions", "width": 200, "height": 200}
    assert set(PLOTS) == {"progress", "classes", "sites"}
    for bad in (("pie", "", "", "day"), ("sites", "", "", "year"), ("sites", "", "1; drop", "day")):
        with pytest.raises(ValueError):
            plot_request(*bad, now)


def test_an_error_is_a_png_of_the_size_asked():
    image = error_image("Monitoring/Monitoring: " + "connection refused " * 20, 640, 300)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")) == (640, 300)


def test_the_static_handler_serves_files_of_its_directories_only(tmp_path):
    launcher._adapt_static_handler()
    from WebAppDIRAC.Core.StaticHandler import StaticHandler

    served = tmp_path / "ext" / "static"
    (served / "App").mkdir(parents=True)
    (served / "App" / "a.js").write_text("x")
    (tmp_path / "ext" / "secret.pem").write_text("key")
    handler = SimpleNamespace(default_filename=None)
    StaticHandler.initialize(handler, [str(served)])
    assert handler.root == str(served)
    assert StaticHandler.parse_url_path(handler, "App/a.js") == str(served / "App" / "a.js")
    # an app that was never built is served its class file
    (served / "App" / "classes").mkdir()
    (served / "App" / "classes" / "App.js").write_text("x")
    assert StaticHandler.parse_url_path(handler, "App/build/App.js") == str(served / "App" / "classes" / "App.js")
    for path in ("../secret.pem", "App/../../secret.pem", "missing.js", "App/build/../../../secret.pem"):
        with pytest.raises(HTTPError):
            StaticHandler.parse_url_path(handler, path)


def test_the_portal_serves_https_with_the_standard_ssl_module_and_lists_the_production_monitor(tmp_path):
    from CTAODIRAC.LocalDIRAC.instance import Instance

    inst = Instance(tmp_path)
    inst.identity(create=True)
    web = portal.portal_cfg(inst)["WebApp"]
    assert web["SSLProtocol"] == "PROTOCOL_TLS_SERVER"
    assert web["HTTPS"]["Port"] == portal.https_port(inst)
    assert web["Schema"]["Applications"]["Production Monitor"] == "CTAODIRAC.ProductionMonitor"


def test_every_app_of_the_menu_exists():
    """Each menu entry names an app with a class file (WebAppDIRAC has no DIRAC.Monitoring: its Accounting app)."""
    import CTAODIRAC
    import WebAppDIRAC

    static = {"DIRAC": Path(WebAppDIRAC.__file__).parent / "WebApp" / "static" / "DIRAC",
              "CTAODIRAC": Path(CTAODIRAC.__file__).parent / "WebApp" / "static" / "CTAODIRAC"}  # fmt: skip
    for entry, app in portal.APPLICATIONS.items():
        extension, name = app.split(".")
        assert (static[extension] / name / "classes" / f"{name}.js").is_file(), entry
    assert portal.APPLICATIONS["Monitoring"] == "DIRAC.Accounting"

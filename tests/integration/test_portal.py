"""DIRAC's web portal with the Production Monitor, in Debian's headless Chromium over HTTPS (docs/portal.md).

The portal of the local DIRAC is started (``dirac-ctao-local portal``'s code) and loaded by Chromium with the
user certificate of the production manager, then of the ordinary user: each browser has its own NSS database
(the CA and that user's PKCS#12) and a profile preference that selects the certificate by its issuer (without it
headless Chromium waits in the TLS handshake). The page is driven over the DevTools protocol (websocket-client,
a DIRAC dependency): a production made here through DIRAC's ProductionClient appears with its transformations and
the files per status DIRAC has, a decision and a site ban of the failure agent appear for its transformation, the
production manager's "retry" sets its given-up files Unused and "stop" stops it in DIRAC, the ordinary user sees
no buttons and DIRAC refuses the same action, and a visitor (plain HTTP) gets 401. Monitoring records of the
transformation, sent through DIRAC's MonitoringReporter as the failure agent sends them, appear in the Plots tab:
three PNGs drawn by DIRAC's Monitoring service, with data (coloured pixels), and a transformation without records
gets DIRAC's "no data" picture. In the same production manager's browser, DIRAC's own apps show the instance:
the Transformation Monitor and the Job Monitor (opened from the desktop, their selector's Submit) list the test's
transformations and job, and the Monitoring plots (DIRAC's Accounting app, Monitoring reports) draw the failure
agent's records. Screenshots go to ``$CTAODIRAC_PORTAL_SCREENSHOT`` and ``<name>-plots.png`` and
``<name>-transformation-monitor.png`` beside it when set (docs/portal.md's pictures).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websocket

from CTAODIRAC.LocalDIRAC import control, opensearch, portal

pytestmark = pytest.mark.integration

APP = "CTAODIRAC.ProductionMonitor"
CA_CN = "CTAODIRAC Local CA"
#: Files of the first transformation, by status, as the test sets them in DIRAC.
FILES = {"Unused": 3, "Assigned": 1, "Processed": 4, "Problematic": 2}

PRODUCTION = """
import json
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
from DIRAC.ProductionSystem.Client.ProductionStep import ProductionStep
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
pc, tc = ProductionClient(), TransformationClient()
for step, kind in (("process", "Processing"), ("merge", "Merging")):
    s = ProductionStep()
    s.Name, s.Type, s.Plugin, s.AgentType, s.GroupSize = f"{step}-{UNIQUE}", kind, "Standard", "Manual", 1
    s.Body = "<Workflow/>"  # never run: no agent works on these transformations (AgentType Manual)
    s.Inputquery = s.Outputquery = {"ctao_portal": UNIQUE}
    assert pc.addProductionStep(s)["OK"]
name = f"portal-{UNIQUE}"
assert pc.addProduction(name, json.dumps(pc.prodDescription))["OK"]
assert pc.startProduction(name)["OK"]
prod = pc.getProduction(name)["Value"]["ProductionID"]
tids = sorted(t["TransformationID"] for t in pc.getProductionTransformations(name)["Value"])
lfns, n = {}, 0
for status, count in FILES.items():
    for _ in range(count):
        n += 1
        lfns[f"/ctao/portal/{UNIQUE}/f{n}.dat"] = status
assert tc.addFilesToTransformation(tids[0], list(lfns))["OK"]
for lfn, status in lfns.items():
    if status != "Unused":
        assert tc.setFileStatusForTransformation(tids[0], {lfn: status}, force=True)["OK"]
result = {"production": prod, "transformations": tids}
"""

# the failure agent's monitoring records of the first transformation, sent as the agent sends them (its sender, DIRAC's
# MonitoringReporter): the files per status every 15 minutes over 3 hours, ending at FILES, and three failures
RECORDS = """
from datetime import datetime, timedelta
from CTAODIRAC.Core.Failures.classes import FailureClass
from CTAODIRAC.Core.Failures.decisions import Decision, DecisionKind
from CTAODIRAC.Core.Monitoring.records import TransformationInfo, decision_records, progress_records
from CTAODIRAC.TransformationSystem.Utilities.FailureMonitoring import MonitoringSender
AGENT = "Transformation/FailureManagementAgent"
now = datetime.utcnow()
info = {TID: TransformationInfo(PROD, "Processing", "Active")}
total, records = sum(FILES.values()), []
for step in range(12, -1, -1):  # 3 h ago: all Unused; now: FILES
    done = {status: round(n * (12 - step) / 12) for status, n in FILES.items() if status != "Unused"}
    counts = {"Unused": total - sum(done.values()), **done}
    when = now - timedelta(minutes=15 * step)
    records += [("ProductionProgress", r) for r in progress_records({TID: counts}, info, when, agent=AGENT)]
failures = [(DecisionKind.RETRY, FailureClass.INFRASTRUCTURE, "CTAO.Spare.ch", 100),
            (DecisionKind.RETRY, FailureClass.INFRASTRUCTURE, "CTAO.Local.ch", 70),
            (DecisionKind.GIVE_UP, FailureClass.APPLICATION, "CTAO.Local.ch", 40)]
for n, (kind, failure_class, site, minutes) in enumerate(failures):
    decision = Decision(kind=kind, key=f"portal:{UNIQUE}:{n}", transformation_id=TID, production_id=PROD, job_id=n,
                        site=site, failure_class=failure_class, rule="PortalTest", lfns=(f"/ctao/portal/{n}",))
    when = now - timedelta(minutes=minutes)
    made = decision_records([decision], when, agent=AGENT, report_only=False, transformations=info)
    records += [("FailureDecisions", r) for r in made]
report = MonitoringSender(PENDING).send(records)
assert report.sent == len(records), report
result = len(records)
"""

FILE_COUNTS = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
counts = TransformationClient().getCounters("TransformationFiles", ["Status"], {"TransformationID": TID})["Value"]
result = {"Unused": 0, "Assigned": 0, "Processed": 0, "Problematic": 0}
result.update({attrs["Status"]: n for attrs, n in counts})
"""

STATUS = """
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
result = TransformationClient().getTransformation(TID)["Value"]["Status"]
"""


def _tools() -> tuple[str, str, str]:
    found = tuple(shutil.which(t) for t in ("chromium", "certutil", "pk12util"))
    if not all(found):
        pytest.fail("Chromium and NSS's certutil/pk12util are needed (Debian chromium, libnss3-tools): make install")
    return found  # type: ignore[return-value]


class Browser:
    """A headless Chromium with one user's certificate, driven over the DevTools protocol."""

    def __init__(self, inst: Any, user: str, home: Path, origin: str):
        chromium, certutil, pk12util = _tools()
        nssdb = home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        db = f"sql:{nssdb}"
        subprocess.run([certutil, "-N", "-d", db, "--empty-password"], check=True, capture_output=True)
        subprocess.run([certutil, "-A", "-d", db, "-n", "ctao-ca", "-t", "C,,", "-i", str(inst.ca_dir / "ca.pem")],
                       check=True, capture_output=True)  # fmt: skip
        p12 = home / f"{user}.p12"
        udir = inst.user_dir(user)
        subprocess.run(["openssl", "pkcs12", "-export", "-in", str(udir / "usercert.pem"), "-inkey",
                        str(udir / "userkey.pem"), "-out", str(p12), "-passout", "pass:"], check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([pk12util, "-i", str(p12), "-d", db, "-W", ""], check=True, capture_output=True)
        profile = home / "profile"
        (profile / "Default").mkdir(parents=True)
        selection = {f"{origin},*": {"setting": {"filters": [{"ISSUER": {"CN": CA_CN}}]}}}
        prefs = {"profile": {"content_settings": {"exceptions": {"auto_select_certificate": selection}}}}
        (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
        env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
        env["HOME"] = str(home)
        self.log = open(home / "chromium.log", "wb")
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--window-size=1600,1000",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            assert self.proc.poll() is None, f"chromium exited: see {home / 'chromium.log'}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port in 30 s"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 60, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(f"(function(){{try{{return {expression};}}catch(e){{return null;}}}})()")
            if value:
                return value
            assert time.monotonic() < deadline, f"not seen in {timeout:.0f} s: {what or expression}"
            time.sleep(0.3)

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.log.close()


@pytest.fixture(scope="module")
def portal_url(local_dirac):
    started = control.start_portal(local_dirac) == "started"
    yield f"https://localhost:{portal.https_port(local_dirac)}"
    if started:
        control.stop_portal(local_dirac)


@pytest.fixture(scope="module")
def manager(local_dirac, portal_url, tmp_path_factory):
    """The production manager's browser, shared by the module's tests."""
    browser = Browser(local_dirac, "prodmgr", tmp_path_factory.mktemp("prodmgr"), portal_url)
    yield browser
    browser.close()


def _open_app(browser: Browser, origin: str, group: str) -> None:
    browser.call("Page.enable")
    # s: (an empty setup) with g: (the group): WebAppDIRAC's static routes want both or neither
    browser.call("Page.navigate", url=f"{origin}/DIRAC/s:/g:{group}/")
    browser.wait("!!(window.GLOBAL && GLOBAL.APP && GLOBAL.APP.isReady && GLOBAL.APP.MAIN_VIEW)",
                 what="the portal's desktop")  # fmt: skip
    browser.js(f"GLOBAL.APP.MAIN_VIEW.createWindow('app', '{APP}', {{}}); true")  # as its menu entry does
    browser.wait("!!Ext.ComponentQuery.query('[ctaoRole=transformations]')[0].ownerCt.loaded",
                 what="the Production Monitor's data")  # fmt: skip


GRID_ROWS = "Ext.ComponentQuery.query('[ctaoRole={}]')[0].getStore().getRange().map(r => r.getData())"
MODULE = "Ext.ComponentQuery.query('[ctaoRole=transformations]')[0].ownerCt"


def _rows(browser: Browser, grid: str) -> list[dict[str, Any]]:
    return browser.js(GRID_ROWS.format(grid))


def _action(browser: Browser, action: str, tid: int) -> dict[str, Any]:
    """What DIRAC answered to the app's action (the same call as its button's)."""
    return browser.js(f"new Promise(done => {MODULE}.doAction('{action}', {tid}, done))")


def _select(browser: Browser, grid: str, field: str, value: int) -> None:
    browser.js(f"(function(){{var g = Ext.ComponentQuery.query('[ctaoRole={grid}]')[0];"
               f" g.getSelectionModel().select(g.getStore().findRecord('{field}', {value}, 0, false, true, true));"
               " return true;})()")  # fmt: skip


PLOTS = ("progress", "classes", "sites")
# what the Plots tab's images show: loaded, their size and how many of their pixels are coloured (data: the
# stacked bars and lines; DIRAC's "no data" and error pictures are black text on white)
PLOT_IMAGES = """(function(){
  var m = %s, out = {};
  Object.keys(m.plotImages).forEach(function (plot) {
    var img = m.plotImages[plot].imgEl ? m.plotImages[plot].imgEl.dom : m.plotImages[plot].el.dom;
    var c = document.createElement("canvas"), coloured = 0;
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    if (img.naturalWidth) {
      c.getContext("2d").drawImage(img, 0, 0);
      var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (var i = 0; i < d.length; i += 4) {
        if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 30) coloured++;
      }
    }
    out[plot] = {state: m.plotStates[plot], src: img.src, width: img.naturalWidth, height: img.naturalHeight,
                 coloured: coloured};
  });
  return out;
})()"""
# the handler's answer to a plot's address, read in the page (the browser's certificate): status, type, first bytes
FETCH = """fetch(%s).then(r => r.arrayBuffer().then(b => ({status: r.status, type: r.headers.get("Content-Type"),
  head: Array.from(new Uint8Array(b.slice(0, 8))), size: b.byteLength})))"""
PNG_SIGNATURE = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]


def _screenshot(browser: Browser, path: str) -> None:
    import base64

    Path(path).write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"]))


def _decision_documents(inst: Any, tid: int) -> Any:
    """How many FailureDecisions documents of transformation ``tid`` OpenSearch finds now (a failure's clue)."""
    query = json.dumps({"query": {"term": {"Transformation": str(tid)}}}).encode()
    url = f"http://127.0.0.1:{opensearch.http_port(inst)}/*failuredecisions*/_count"
    request = urllib.request.Request(url, data=query, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer).get("count")
    except (OSError, ValueError) as exc:
        return repr(exc)


def _check_plots(browser: Browser, inst: Any, tid: int, without_records: int) -> None:
    """The Plots tab of transformation ``tid``: three PNGs from DIRAC's Monitoring service, with data.

    The records were written to OpenSearch seconds before. Once (in a whole suite run, never with this file alone)
    the failure-class plot came without them: a plot drawn "no data" is drawn again by the tab's "Refresh plots",
    as an operator would, for up to 60 s; what each attempt showed, and how many decision documents OpenSearch then
    counted, is in the failure (OpenSearch's near-real-time search and DIRAC's plot cache would look alike)."""
    browser.js(f"{MODULE}.failurePanel.setActiveTab({MODULE}.plotPanel); true")
    states = f"Object.values({MODULE}.plotStates)"
    attempts: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while True:
        browser.wait(f"{states}.length == 3 && {states}.every(s => s != 'loading')", timeout=60, what="the plots")
        images = browser.js(PLOT_IMAGES % MODULE)
        empty_plots = [p for p, image in images.items() if image["state"] == "loaded" and image["coloured"] <= 300]
        attempts.append({"at": round(time.monotonic() - deadline + 60, 1), "empty": empty_plots,
                         "decision documents": _decision_documents(inst, tid)})  # fmt: skip
        if not empty_plots or time.monotonic() > deadline:
            break
        time.sleep(2)
        browser.js(f"{MODULE}.loadPlots(); true")  # the tab's "Refresh plots"
    assert sorted(images) == sorted(PLOTS), images
    for plot, image in images.items():
        assert image["state"] == "loaded", (plot, image)
        assert f"transformationID={tid}" in image["src"] and f"plot={plot}" in image["src"], image
        requested = dict(part.split("=") for part in image["src"].split("?", 1)[1].split("&"))
        assert image["width"] > 0 and (image["width"], image["height"]) == (
            int(requested["width"]), int(requested["height"])
        ), (plot, image)  # drawn at the size the page asked
        assert image["coloured"] > 300, (plot, image, attempts)  # data, not "No data for this selection"
    answer = browser.js(FETCH % json.dumps(images["progress"]["src"]))
    assert (answer["status"], answer["type"], answer["head"]) == (200, "image/png", PNG_SIGNATURE), answer
    # a transformation without records: DIRAC's "no data" picture, still a PNG answered 200
    empty = images["classes"]["src"].replace(f"transformationID={tid}", f"transformationID={without_records}")
    answer = browser.js(FETCH % json.dumps(empty))
    assert (answer["status"], answer["type"], answer["head"]) == (200, "image/png", PNG_SIGNATURE), answer
    if len(attempts) > 1:  # shown with -rP / in the log: how often the first drawing came before the data
        print(f"plots of transformation {tid} drawn with data after {len(attempts)} attempts: {attempts}")


def test_production_monitor_shows_dirac_and_lets_only_production_managers_act(dirac, portal_url, manager, tmp_path,
                                                                              unique):
    _tools()
    made = dirac.py(f"UNIQUE = {unique!r}\nFILES = {FILES!r}\n" + PRODUCTION)
    prod, (first, second) = made["production"], made["transformations"]
    dirac.sql(
        "FailureManagementDB",
        "INSERT INTO FMDecisions (IdemKey, Kind, Failure, TransformationID, ProductionID, TaskID, JobID, Site, Class,"
        " Rule, NumFiles, FileChanges, State, Owner, CreationTime) VALUES "
        f"('portal:{unique}', 'give-up', 'portal:{unique}', {first}, {prod}, 7, 4242, 'CTAO.Local.ch', 'application',"
        " 'PortalTest', 2, '{}', 'Applied', '', UTC_TIMESTAMP())",
    )  # fmt: skip
    dirac.sql(
        "FailureManagementDB",
        "INSERT INTO FMSiteBans (TransformationID, LFN, Site, Class, DecisionID, CreationTime) VALUES"
        f" ({first}, '/ctao/portal/{unique}/f1.dat', 'CTAO.Spare.ch', 'site', 0, UTC_TIMESTAMP())",
    )  # fmt: skip
    sent = dirac.py(f"UNIQUE = {unique!r}\nFILES = {FILES!r}\nPROD = {prod}\nTID = {first}\n"
                    f"PENDING = {str(tmp_path / 'pending.jsonl')!r}\n" + RECORDS, user=None)  # fmt: skip
    assert sent > 3

    # a visitor (plain HTTP, no certificate) gets nothing
    visitor = f"http://localhost:{portal.http_port(dirac.inst)}/DIRAC/ProductionMonitor/getData"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(visitor, timeout=30)
    assert refused.value.code == 401

    _open_app(manager, portal_url, "ctao_prodmgr")
    productions = {p["ProductionID"]: p for p in _rows(manager, "productions")}
    assert productions[prod]["Name"] == f"portal-{unique}"
    assert productions[prod]["Transformations"] == 2
    assert productions[prod]["Files"] == sum(FILES.values())
    assert productions[prod]["GivenUp"] == 2
    _select(manager, "productions", "ProductionID", prod)
    rows = {r["TransformationID"]: r for r in _rows(manager, "transformations")}
    assert sorted(rows) == [first, second]
    assert rows[first]["Type"] == "Processing" and rows[second]["Type"] == "Merging"
    assert {s: rows[first][s] for s in FILES} == FILES
    assert rows[first]["Progress"] == pytest.approx(FILES["Processed"] / sum(FILES.values()), abs=1e-3)
    assert rows[first]["Failed"] == 1 and rows[first]["GivenUp"] == 2
    assert rows[second]["Files"] == 0
    _select(manager, "transformations", "TransformationID", first)
    decisions = manager.wait(GRID_ROWS.format("decisions") + ".length && " + GRID_ROWS.format("decisions"),
                             what="the failure agent's decision")  # fmt: skip
    assert [(d["JobID"], d["Class"], d["Kind"], d["Site"]) for d in decisions] == [
        (4242, "application", "give-up", "CTAO.Local.ch")
    ]
    bans = manager.wait(GRID_ROWS.format("bans") + ".length && " + GRID_ROWS.format("bans"), what="the site ban")
    assert [(b["Site"], b["Files"]) for b in bans] == [("CTAO.Spare.ch", 1)]
    visible = manager.js(f"{MODULE}.actionButtons.filter(b => b.isVisible() && !b.isDisabled()).length")
    assert visible == 5
    screenshot = os.environ.get("CTAODIRAC_PORTAL_SCREENSHOT")
    if screenshot:
        _screenshot(manager, screenshot)
    _check_plots(manager, dirac.inst, first, second)
    if screenshot:
        _screenshot(manager, str(Path(screenshot).with_name(Path(screenshot).stem + "-plots.png")))
    answer = _action(manager, "retry", first)
    assert answer["success"] == "true" and "2 given-up" in answer["message"], answer
    assert dirac.py(f"TID = {first}\n" + FILE_COUNTS) == {**FILES, "Unused": 5, "Problematic": 0}
    answer = _action(manager, "stop", first)
    assert answer["success"] == "true", answer
    assert dirac.py(f"TID = {first}\n" + STATUS) == "Stopped"
    manager.wait(f"{MODULE}.allTransformations.some(t => t.TransformationID == {first} && t.Status == 'Stopped')",
                 what="the stopped transformation in the page")  # fmt: skip

    user = Browser(dirac.inst, "user", tmp_path / "user", portal_url)
    try:
        _open_app(user, portal_url, "ctao_user")
        assert first in [r["TransformationID"] for r in _rows(user, "transformations")]
        assert user.js(f"{MODULE}.actionButtons.filter(b => b.isVisible()).length") == 0
        answer = _action(user, "start", first)
        assert answer["success"] == "false" and "permission" in answer["error"], answer
        assert dirac.py(f"TID = {first}\n" + STATUS) == "Stopped"
    finally:
        user.close()


JOB = """
from DIRAC.Interfaces.API.Dirac import Dirac
from DIRAC.Interfaces.API.Job import Job
job = Job()
job.setName(NAME)
job.setExecutable("/bin/true")
res = Dirac().submitJob(job)
assert res["OK"], res
result = res["Value"]
"""

#: DIRAC's app (its class) in the page: the last one opened
DIRAC_APP = "Ext.ComponentQuery.query('*').filter(c => c.$className == 'DIRAC.{0}.classes.{0}').pop()"
# the rows of a DIRAC monitor's grid (the fields asked) once its store loaded more than `loads` times
STORE_ROWS = "(function(){{var s = {app}.dataStore; return s.isLoading() || s.loadCount <= {loads} ? null :"
STORE_ROWS += " s.getRange().map(r => [{fields}].map(f => r.get(f)));}})()"
# an app opens in a tab of the desktop: shown (then rendered) once its tab is the active one, as a click makes it
SHOW_TAB = "(function(){{var c = {0}; while (!c.ownerCt.setActiveTab) c = c.ownerCt;"
SHOW_TAB += " c.ownerCt.setActiveTab(c); return true;}})()"


def _open_dirac_app(browser: Browser, app: str) -> str:
    """Open DIRAC's ``app`` from the desktop, as its menu entry does; the JS expression of its module."""
    browser.js(f"GLOBAL.APP.MAIN_VIEW.createWindow('app', 'DIRAC.{app}', {{}}); true")
    module = DIRAC_APP.format(app)
    browser.wait(f"!!{module}.leftPanel", what=f"DIRAC's {app}")
    browser.js(SHOW_TAB.format(module))
    browser.wait(f"{module}.rendered && {module}.leftPanel.rendered", what=f"DIRAC's {app} shown")
    return module


def _submit(browser: Browser, module: str, field: str, ids: list[int], fields: str) -> list[list[Any]]:
    """The selector's Submit with ``field`` set to ``ids``; the grid's rows (``fields``) DIRAC answered."""
    loads = browser.js(f"{module}.dataStore.loadCount")
    browser.js(f"{module}.leftPanel.textFields.{field}.setValue('{','.join(map(str, ids))}');"
               f" {module}.leftPanel.btnSubmit.fireHandler(); true")  # fmt: skip
    return browser.wait(STORE_ROWS.format(app=module, loads=loads, fields=fields), what="the grid's rows")


def test_dirac_monitors_show_the_instance(dirac, portal_url, manager, tmp_path, unique):
    """DIRAC's own Transformation Monitor, Job Monitor and Monitoring plots, as the production manager."""
    made = dirac.py(f"UNIQUE = {unique!r}\nFILES = {FILES!r}\n" + PRODUCTION)
    prod, tids = made["production"], made["transformations"]
    job = dirac.py(f"NAME = 'portal-{unique}'\n" + JOB)
    sent = dirac.py(f"UNIQUE = {unique!r}\nFILES = {FILES!r}\nPROD = {prod}\nTID = {tids[0]}\n"
                    f"PENDING = {str(tmp_path / 'pending.jsonl')!r}\n" + RECORDS, user=None)  # fmt: skip
    assert sent > 3
    manager.call("Page.enable")
    manager.call("Page.navigate", url=f"{portal_url}/DIRAC/s:/g:ctao_prodmgr/")
    manager.wait("!!(window.GLOBAL && GLOBAL.APP && GLOBAL.APP.isReady && GLOBAL.APP.MAIN_VIEW)",
                 what="the portal's desktop")  # fmt: skip

    module = _open_dirac_app(manager, "TransformationMonitor")
    rows = _submit(manager, module, "transformationId", tids, "'TransformationID', 'TransformationName', 'Type'")
    assert sorted(map(tuple, rows)) == [(tids[0], f"{prod:08d}_Step1_process-{unique}", "Processing"),
                                        (tids[1], f"{prod:08d}_Step2_merge-{unique}", "Merging")], rows
    screenshot = os.environ.get("CTAODIRAC_PORTAL_SCREENSHOT")
    if screenshot:
        _screenshot(manager, str(Path(screenshot).with_name(Path(screenshot).stem + "-transformation-monitor.png")))

    module = _open_dirac_app(manager, "JobMonitor")
    rows = _submit(manager, module, "JobID", [job], "'JobID', 'JobName', 'Owner'")
    assert rows == [[job, f"portal-{unique}", "prodmgr"]], rows

    # DIRAC's Monitoring plots are its Accounting app's "Monitoring" reports: a plot of the failure agent's
    # decisions by class over the last day, requested as the app does when it loads a saved plot
    module = _open_dirac_app(manager, "Accounting")
    params = {"typeName": "FailureDecisions", "plotName": "NumberOfDecisions", "grouping": "Class",
              "timeSelector": 86400}  # fmt: skip
    manager.js(f"{module}.cmbReportType.setValue('Monitoring');"
               f" {module}.__generatePlot(null, {{params: {json.dumps(params)}, reportType: 'Monitoring'}}); true")
    image = manager.wait("(function(){var i = Array.from(document.images).filter(i => /Monitoring\\/getPlotImg/"
                         ".test(i.src)).pop(); return i && i.complete && {src: i.src, width: i.naturalWidth};})()",
                         what="the Monitoring plot")  # fmt: skip
    assert image["width"] > 0, image
    # with data (coloured bars), not DIRAC's "no data" picture: the Plots tab's measure of the same image
    img = "Array.from(document.images).filter(i => /Monitoring\\/getPlotImg/.test(i.src)).pop()"
    coloured = manager.js(PLOT_IMAGES % ("{plotImages: {monitoring: {el: {dom: %s}}}, plotStates: {}}" % img))
    assert coloured["monitoring"]["coloured"] > 300, coloured
    answer = manager.js(FETCH % json.dumps(image["src"]))
    assert (answer["status"], answer["type"], answer["head"]) == (200, "image/png", PNG_SIGNATURE), answer

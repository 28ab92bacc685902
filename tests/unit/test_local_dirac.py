"""The local DIRAC tool's pure parts: configuration it writes, pid files, environment."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from diraccfg import CFG

from CTAODIRAC.LocalDIRAC import csconfig
from CTAODIRAC.LocalDIRAC.instance import COMPONENTS, PROD_GROUP, SMTP_PORT, USER_GROUP, Identity, Instance
from CTAODIRAC.LocalDIRAC.processes import Process, read_pid, start_process, stop


@pytest.fixture
def inst(tmp_path):
    return Instance(tmp_path / "instance")


@pytest.fixture
def ident(inst):
    inst.root.mkdir(parents=True)
    ident = Identity(hostname="testhost", port_offset=100, mysql_port=23306, mysql_password="pw")
    inst.identity_file.write_text(json.dumps(ident.__dict__))
    return ident


def test_central_cs_runs_every_service_under_diset(inst, ident):
    cs = csconfig.central_cs(inst, ident)
    for comp in COMPONENTS:
        if comp.kind != "service":
            continue
        url = cs.getOption(f"/Systems/{comp.system}/URLs/{comp.name}")
        assert url == f"dips://testhost:{comp.port + 100}/{comp.system}/{comp.name}"
        assert cs.getOption(f"/Systems/{comp.system}/Services/{comp.name}/Port") == str(comp.port + 100)
    for system in cs["Systems"].listSections():
        services = cs[f"Systems/{system}"]
        if services.isSection("Services"):
            assert not [s for s in services["Services"].listSections() if s.startswith("Tornado")]
    assert cs.getOption("/Systems/Configuration/Services/Server/HandlerPath").endswith("/ConfigurationHandler.py")
    assert cs.getOption("/Systems/Databases/Port") == "23306"
    assert cs.getOption("/Systems/Transformation/Databases/TransformationDB/DBName") == "TransformationDB"


def test_notification_service_sends_mail_to_the_instance_smtp_port(inst, ident):
    """DIRAC's Notification service reads its SMTP server from its own section (Mail utility default: localhost:25)."""
    cs = csconfig.central_cs(inst, ident)
    assert cs.getOption("/Systems/Framework/URLs/Notification") == "dips://testhost:9254/Framework/Notification"
    assert cs.getOption("/Systems/Framework/Services/Notification/SMTP/Host") == "127.0.0.1"
    assert cs.getOption("/Systems/Framework/Services/Notification/SMTP/Port") == str(SMTP_PORT + 100)
    assert inst.smtp_port() == 10125


def test_registry_separates_production_manager_and_ordinary_user(inst, ident):
    cs = csconfig.central_cs(inst, ident)
    prod = cs.getOption(f"/Registry/Groups/{PROD_GROUP}/Properties", [])
    user = cs.getOption(f"/Registry/Groups/{USER_GROUP}/Properties", [])
    assert "ProductionManagement" in prod
    assert user == ["NormalUser"]
    assert cs.getOption(f"/Registry/Groups/{PROD_GROUP}/Users", []) == ["prodmgr"]
    assert "TrustedHost" in cs.getOption("/Registry/Hosts/testhost/Properties", [])
    assert cs.getOption("/DiracX/DisabledVOs") == "ctao"


def test_templates_of_dirac_and_extension_are_merged():
    templates = csconfig.system_templates()
    assert "TransformationManager" in templates["Transformation"]["Services"].listSections()
    assert "InputDataAgent" in templates["Transformation"]["Agents"].listSections()
    assert csconfig.extension_packages()[-1] == "CTAODIRAC"


def test_dirac_services_whose_handler_the_extension_replaces_are_started_once(inst, ident):
    """Our TransformationManagerHandler replaces DIRAC's: the instance runs one TransformationManager, with the
    task submission delay of the local instance, and the extension's template documents DIRAC's default."""
    names = [c.full_name for c in csconfig.all_components()]
    assert names.count("Transformation/TransformationManager") == 1
    assert "Transformation/FailureManagement" in names
    cs = csconfig.central_cs(inst, ident)
    section = "/Systems/Transformation/Services/TransformationManager"
    assert cs.getOption(f"{section}/TaskSubmissionDelay") == str(csconfig.TASK_SUBMISSION_DELAY)
    template = csconfig.system_templates()["Transformation"]
    assert template.getOption("Services/TransformationManager/TaskSubmissionDelay") == "30"


def test_grouped_services_share_a_process_and_the_ones_killed_on_purpose_stay_alone():
    from CTAODIRAC.LocalDIRAC import chaos, control, opensearch

    comps = csconfig.all_components()
    groups: dict[str, list[str]] = {}
    for comp in comps:
        if comp.group:
            groups.setdefault(comp.group, []).append(comp.full_name)
            assert comp.key == f"Services_{comp.group}"
    assert set(groups) == {"core", "search", "portal"}
    for comp in comps:
        members = [c.full_name for c in control.process_members(comp)]
        assert members == (groups[comp.group] if comp.group else [comp.full_name])
    grouped = {name for names in groups.values() for name in names}
    # the chaos campaign kills one of these at a time: a kill must not take other services with it
    assert not grouped & set(chaos.SERVICES)
    # JobManager connects to OptimizationMind when it starts; the CS and the executors run on their own
    assert not grouped & {"WorkloadManagement/JobManager", "WorkloadManagement/OptimizationMind",
                          "Configuration/Server", "WorkloadManagement/Optimizers"}  # fmt: skip
    # a group waits for OpenSearch when one of its services needs it: the ones that do are together
    assert set(groups["search"]) <= opensearch.CLIENT_SERVICES
    assert not set(groups["core"]) & opensearch.CLIENT_SERVICES
    # one command line for the whole group, DIRAC's dirac-service for the others
    core = next(c for c in comps if c.group == "core")
    cmd = control._component_cmd(Instance("/nonexistent"), core)  # noqa: SLF001
    assert cmd[1:3] == ["-m", "CTAODIRAC.LocalDIRAC.service_group"] and cmd[3:] == groups["core"]


def test_services_only_the_portal_uses_are_not_started_by_up():
    on_demand = {c.full_name: c.on_demand for c in csconfig.all_components() if c.on_demand}
    assert on_demand == {"Framework/UserProfileManager": "portal", "Monitoring/WebApp": "portal"}


def test_master_options_only_in_master_cfg(inst, ident):
    csconfig.write_configuration(inst, ident, central=True)
    local = CFG().loadFromFile(str(inst.dirac_cfg))
    master = CFG().loadFromFile(str(inst.master_cfg))
    assert local.getOption("/DIRAC/Configuration/Master") is None
    assert master.getOption("/DIRAC/Configuration/Master") == "yes"
    assert local.getOption("/DIRAC/Configuration/Servers") == "dips://testhost:9235/Configuration/Server"
    assert master.getOption("/Systems/Configuration/Services/Server/Port") == "9235"
    worker = CFG().loadFromFile(str(inst.worker_cfg))
    assert worker.getOption("/LocalSite/LocalCE") == "InProcess"
    assert oct(inst.cs_cfg.stat().st_mode & 0o777) == "0o600"  # it holds the database password


def test_environment_drops_ca_bundles_that_override_diracs_ca_directory(inst):
    env = inst.environment("user", base={"REQUESTS_CA_BUNDLE": "/x", "CURL_CA_BUNDLE": "/y", "PATH": "/bin"})
    assert "REQUESTS_CA_BUNDLE" not in env and "CURL_CA_BUNDLE" not in env
    assert env["DIRAC_ROOT_PATH"] == str(inst.root)
    assert env["X509_USER_PROXY"] == str(inst.proxy("user"))
    assert "X509_USER_PROXY" not in inst.environment(None, base={"X509_USER_PROXY": "/p"})


def test_pid_files_track_exactly_the_process_started(inst):
    inst.root.mkdir(parents=True)
    pid = start_process(inst, "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], env=None)
    proc = Process(inst, "sleeper")
    assert read_pid(proc) == pid
    # a pid file whose start time does not match (pid reused by another process) is not ours
    record = json.loads(proc.pidfile.read_text())
    proc.pidfile.write_text(json.dumps({**record, "start": "1"}))
    assert read_pid(proc) is None
    proc.pidfile.write_text(json.dumps(record))
    assert stop(proc, timeout=5) is True
    assert read_pid(proc) is None and not proc.pidfile.exists()
    assert stop(proc) is False  # stopping twice is harmless
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0 or _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return any(line.startswith("State:") and "Z" in line for line in fh)
    except OSError:
        return False


def test_identity_is_made_once(inst):
    first = inst.identity(create=True)
    again = inst.identity(create=True)
    assert first == again
    with pytest.raises(FileNotFoundError, match="dirac-ctao-local up"):
        Instance(inst.root / "nowhere").identity()


def test_each_pilot_has_its_own_configuration_file(inst, ident):
    """A JobAgent rewrites its root's etc/dirac.cfg: each local pilot gets its own, made of the instance's
    configuration and the worker node's, with the instance's certificates."""
    from CTAODIRAC.LocalDIRAC import control

    csconfig.write_configuration(inst, ident, central=False)
    (inst.root / "etc" / "grid-security").mkdir(parents=True, exist_ok=True)
    first, second = control.pilot_root(inst, 1), control.pilot_root(inst, 2)
    assert first != second
    for root in (first, second):
        cfg = CFG().loadFromFile(str(root / "etc" / "dirac.cfg"))
        assert cfg.getOption("/DIRAC/Configuration/Servers") == inst.cs_url()
        assert cfg.getOption("/LocalSite/Site") == "CTAO.Local.ch"
        assert (root / "etc" / "grid-security").resolve() == (inst.root / "etc" / "grid-security").resolve()
    # what a JobAgent does to its own file leaves the instance's untouched
    (first / "etc" / "dirac.cfg").write_text("LocalSite\n{\n  CPUTimeLeft = 5\n}\n")
    assert CFG().loadFromFile(str(inst.dirac_cfg)).getOption("/DIRAC/Configuration/Servers") == inst.cs_url()

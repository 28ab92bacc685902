"""DIRAC's web portal on the local instance: ``dirac-ctao-local portal`` (docs/portal.md).

One more process of the instance (key ``WebApp_Portal``), started on demand (not by ``up``: most work never opens
a browser) and stopped by ``down``: WebAppDIRAC 6.0.8 run by :mod:`CTAODIRAC.WebApp.portal` with the host
certificate, HTTPS on 8443 + the port offset (browser user certificates), plain HTTP (visitors) on 8080 + the
offset. Its ``/WebApp`` section is ``etc/portal.cfg``, given to that process only. The services only its apps
need (Framework/UserProfileManager, Monitoring/WebApp) are started with it (``control.start_portal``), not by ``up``.

Plain Python: DIRAC runs only in the portal's process.
"""

from __future__ import annotations

import sys
from typing import Any

from . import csconfig
from .instance import Instance
from .processes import Process, port_open, read_pid, start_process, stop, wait_for_port

KEY = "WebApp_Portal"
HTTPS_PORT = 8443
HTTP_PORT = 8080

#: The portal's menu: this extension's app first, then the DIRAC apps operators use every day.
APPLICATIONS = {
    "Production Monitor": "CTAODIRAC.ProductionMonitor",
    "Transformation Monitor": "DIRAC.TransformationMonitor",
    "Job Monitor": "DIRAC.JobMonitor",
    "Job Summary": "DIRAC.JobSummary",
    # WebAppDIRAC has no DIRAC.Monitoring app: its Accounting app draws the Monitoring plots too (Reports: Monitoring)
    "Monitoring": "DIRAC.Accounting",
    "Request Monitor": "DIRAC.RequestMonitor",
    "File Catalog": "DIRAC.FileCatalog",
    "Configuration Manager": "DIRAC.ConfigurationManager",
    "Site Summary": "DIRAC.SiteSummary",
}


def https_port(inst: Instance) -> int:
    return HTTPS_PORT + inst.identity().port_offset


def http_port(inst: Instance) -> int:
    return HTTP_PORT + inst.identity().port_offset


def url(inst: Instance) -> str:
    """The portal's HTTPS address (the host certificate names the hostname, localhost and 127.0.0.1)."""
    return f"https://{inst.identity().hostname}:{https_port(inst)}/DIRAC/"


def portal_cfg(inst: Instance) -> dict[str, Any]:
    """The ``/WebApp`` section of the local portal."""
    return {
        "WebApp": {
            "HTTPS": {"Enabled": "True", "Port": https_port(inst)},
            "HTTP": {"Port": http_port(inst)},
            # the standard ssl module serves HTTPS (tornado's default "tls" is no ssl.SSLContext protocol)
            "SSLProtocol": "PROTOCOL_TLS_SERVER",
            "Balancer": "None",
            "NumProcesses": 1,
            "DevelopMode": "False",
            "Title": "CTAO local DIRAC",
            # no www/defaults or www/demo directories under the instance
            "DefaultStaticDirs": "None",
            "Schema": {"Applications": APPLICATIONS},
        }
    }


def start(inst: Instance) -> str:
    """Start the portal unless it runs; "running" or "started" (it answers on its HTTPS port then)."""
    proc = Process(inst, KEY)
    if read_pid(proc) is not None:
        return "running"
    port = https_port(inst)
    if port_open(port):
        raise RuntimeError(f"port {port} for the portal is taken by another process")
    cfg = inst.etc / "portal.cfg"
    cfg.write_text(str(csconfig.to_cfg(portal_cfg(inst))))
    cmd = [sys.executable, "-m", "CTAODIRAC.WebApp.portal", "--cfg", str(cfg)]
    start_process(inst, KEY, cmd, inst.environment(user=None))
    wait_for_port(proc, port, timeout=60)
    return "started"


def stop_portal(inst: Instance) -> bool:
    """Stop the portal; True if it ran."""
    return stop(Process(inst, KEY))

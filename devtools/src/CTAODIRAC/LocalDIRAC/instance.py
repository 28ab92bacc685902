"""Where a local DIRAC instance keeps its state, and which components it runs.

Everything of one instance lives under one root directory (default ``<checkout>/.local-dirac``,
``CTAODIRAC_LOCAL_ROOT`` or ``--root`` to change it)::

    <root>/instance.json           identity: hostname, MariaDB port and password (made once)
    <root>/etc/dirac.cfg           what every DIRAC process of the instance reads (clients, services, agents)
    <root>/etc/master.cfg          the master CS's own options, given only to that process
    <root>/etc/CTAOLocal.cfg       the configuration the master CS serves (rewritten by it)
    <root>/etc/grid-security/      host certificate and key, certificates/ (the CA)
    <root>/users/<name>/           user certificates and proxies
    <root>/mysql/                  the instance's own MariaDB data directory
    <root>/storage/                the local storage element (files really stored here)
    <root>/logs/                   one log per process
    <root>/run/                    one pid file per process started by ``up``
    <root>/work/ <root>/control/   DIRAC's working directories

This module is plain Python: it never imports DIRAC.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: The DIRAC "VO" of the local instance and its groups.
VO = "ctao"
PROD_GROUP = "ctao_prodmgr"
USER_GROUP = "ctao_user"
SITE = "CTAO.Local.ch"
#: A second site, with its own storage element but no computing element: no job ever runs there. It makes the
#: local grid two sites, so that a job kept away from CTAO.Local.ch (the failure agent's site bans) whose input
#: has a replica at CTAO-Spare-SE still has an eligible site and waits, as it would on the real grid.
SPARE_SITE = "CTAO.Spare.ch"
SPARE_SE_NAME = "CTAO-Spare-SE"
SE_NAME = "CTAO-Local-SE"
CS_NAME = "CTAOLocal"
#: The SMTP port (plus the instance's port offset) the Notification service sends mail to, on 127.0.0.1. No mail
#: server runs there: mail is delivered only while something listens (a test's SMTP sink, ``python -m smtpd``).
SMTP_PORT = 10025


@dataclass(frozen=True)
class User:
    """A user of the local instance: a certificate, a proxy and a DIRAC group."""

    name: str
    group: str
    groups: tuple[str, ...]
    description: str


#: The two users: a production manager and an ordinary user (NormalUser only).
USERS = (
    User("prodmgr", PROD_GROUP, (PROD_GROUP, USER_GROUP), "production manager (ProductionManagement)"),
    User("user", USER_GROUP, (USER_GROUP,), "ordinary user (NormalUser only)"),
)


@dataclass(frozen=True)
class Component:
    """A DIRAC server process of the instance (one service, or the optimizers executor)."""

    system: str
    name: str
    port: int | None = None
    kind: str = "service"  # or "executor"
    #: started by ``up`` when empty; otherwise only by the command named here (e.g. "portal"), stopped by ``down``
    on_demand: str = ""
    #: the services of one group run in one process (:mod:`CTAODIRAC.LocalDIRAC.service_group`); empty: its own
    group: str = ""

    @property
    def key(self) -> str:
        """The key of its process: pid file ``run/<key>.pid``, log ``logs/<key>.log`` (a group's: shared)."""
        return f"Services_{self.group}" if self.group else f"{self.system}_{self.name}"

    @property
    def full_name(self) -> str:
        return f"{self.system}/{self.name}"


#: Every component ``up`` starts, in start order. Ports are DIRAC's usual ones (from its ConfigTemplate.cfg).
#: The master CS comes first; OptimizationMind before JobManager (JobManager connects to it at start).
#: Services of one ``group`` share a process (each DIRAC service process costs ~2 s of start-up CPU and 75-130 MiB):
#: "core", the services nothing here kills on purpose (and this extension's services, csconfig.extension_services);
#: "search", those that connect to OpenSearch at start; "portal", the portal's. Alone: the CS, the services the
#: chaos campaign kills one at a time (``chaos.SERVICES``), OptimizationMind (the executors' long-lived
#: connections), JobManager (it connects to OptimizationMind when it starts), the executors.
CONFIGURATION_SERVER = Component("Configuration", "Server", 9135)
COMPONENTS = (
    CONFIGURATION_SERVER,
    Component("Framework", "ProxyManager", 9152, group="core"),
    Component("Framework", "Notification", 9154, group="core"),
    Component("ResourceStatus", "ResourceStatus", 9160, group="core"),
    Component("ResourceStatus", "ResourceManagement", 9172, group="core"),
    Component("DataManagement", "FileCatalog", 9197),
    Component("Transformation", "TransformationManager", 9131),
    Component("Production", "ProductionManager", 9180, group="core"),
    Component("RequestManagement", "ReqManager", 9140),
    Component("WorkloadManagement", "OptimizationMind", 9175),
    Component("WorkloadManagement", "JobMonitoring", 9130, group="search"),
    Component("WorkloadManagement", "JobStateUpdate", 9136),
    Component("WorkloadManagement", "SandboxStore", 9196, group="core"),
    Component("WorkloadManagement", "Matcher", 9170),
    Component("WorkloadManagement", "PilotManager", 9171, group="core"),
    Component("WorkloadManagement", "WMSAdministrator", 9145, group="search"),
    # DIRAC's Monitoring service: reads (reports, plots) of the monitoring types kept in OpenSearch, and the put
    # of records by a process whose own connection to OpenSearch failed when it started
    Component("Monitoring", "Monitoring", 9137, group="search"),
    # what the web portal's own apps need (docs/portal.md): the users' desktops and settings, and the data of
    # DIRAC's monitors (Transformation Monitor, Job Monitor, ...), both DISET services used by nothing else,
    # started with the portal (`dirac-ctao-local portal`), not by `up`
    Component("Framework", "UserProfileManager", 9155, on_demand="portal", group="portal"),
    Component("Monitoring", "WebApp", 9199, on_demand="portal", group="portal"),
    Component("WorkloadManagement", "JobManager", 9132),
    Component("WorkloadManagement", "Optimizers", kind="executor"),
)

#: Databases created from the ``.sql`` file DIRAC ships (system, DB name).
SQL_DATABASES = (
    ("Production", "ProductionDB"),
    ("Transformation", "TransformationDB"),
    ("WorkloadManagement", "JobDB"),
    ("WorkloadManagement", "JobLoggingDB"),
    ("WorkloadManagement", "PilotAgentsDB"),
    ("DataManagement", "FileCatalogDB"),
)
#: Databases whose tables DIRAC's DB classes create on first use (created once, in sequence, by ``up``).
SELF_CREATING_DATABASES = (
    ("WorkloadManagement", "TaskQueueDB"),
    ("WorkloadManagement", "SandboxMetadataDB"),
    ("Framework", "ProxyDB"),
    ("RequestManagement", "ReqDB"),
    ("ResourceStatus", "ResourceStatusDB"),
    ("ResourceStatus", "ResourceManagementDB"),
    ("Framework", "UserProfileDB"),
)


def checkout() -> Path | None:
    """The repository checkout this tool runs from, if any: the directory above ``devtools/`` with the extension's
    ``setup.cfg`` and ``src/CTAODIRAC/__init__.py`` (``devtools/src/CTAODIRAC`` has no ``__init__.py``)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "setup.cfg").is_file() and (parent / "src" / "CTAODIRAC" / "__init__.py").is_file():
            return parent
    return None


def default_root() -> Path:
    """The instance root: ``$CTAODIRAC_LOCAL_ROOT``, else ``.local-dirac`` in the checkout (or the cwd)."""
    env = os.environ.get("CTAODIRAC_LOCAL_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    return (checkout() or Path.cwd()) / ".local-dirac"


@dataclass
class Identity:
    """What is decided once per instance and kept in ``instance.json``."""

    hostname: str
    #: added to every port (DIRAC's standard ones, MariaDB's 13306), so several instances can run on one
    #: machine; chosen when the instance is made, from $CTAODIRAC_LOCAL_PORT_OFFSET (default 0)
    port_offset: int = 0
    mysql_port: int = 13306
    mysql_user: str = "Dirac"
    mysql_password: str = field(default_factory=lambda: secrets.token_hex(12))
    mysql_root_password: str = field(default_factory=lambda: secrets.token_hex(12))


class Instance:
    """Paths and identity of one local DIRAC instance."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root).resolve() if root else default_root()

    # -- paths ---------------------------------------------------------------------------------------
    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def grid_security(self) -> Path:
        return self.etc / "grid-security"

    @property
    def ca_dir(self) -> Path:
        return self.grid_security / "certificates"

    @property
    def dirac_cfg(self) -> Path:
        return self.etc / "dirac.cfg"

    @property
    def master_cfg(self) -> Path:
        return self.etc / "master.cfg"

    @property
    def cs_cfg(self) -> Path:
        return self.etc / f"{CS_NAME}.cfg"

    @property
    def worker_cfg(self) -> Path:
        return self.etc / "worker.cfg"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def mysql_dir(self) -> Path:
        return self.root / "mysql"

    @property
    def mysql_socket(self) -> Path:
        return self.run / "mysqld.sock"

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    @property
    def sandboxes(self) -> Path:
        return self.root / "sandboxes"

    def user_dir(self, user: str) -> Path:
        return self.root / "users" / user

    def proxy(self, user: str) -> Path:
        return self.user_dir(user) / "proxy.pem"

    def log(self, key: str) -> Path:
        return self.logs / f"{key}.log"

    def pidfile(self, key: str) -> Path:
        return self.run / f"{key}.pid"

    # -- identity ------------------------------------------------------------------------------------
    @property
    def identity_file(self) -> Path:
        return self.root / "instance.json"

    def identity(self, create: bool = False) -> Identity:
        """Read ``instance.json``; with ``create``, make it on first use."""
        if self.identity_file.is_file():
            return Identity(**json.loads(self.identity_file.read_text()))
        if not create:
            raise FileNotFoundError(f"no local DIRAC instance at {self.root} (run: dirac-ctao-local up)")
        offset = int(os.environ.get("CTAODIRAC_LOCAL_PORT_OFFSET", "0") or 0)
        ident = Identity(hostname=socket.gethostname(), port_offset=offset, mysql_port=13306 + offset)
        self.root.mkdir(parents=True, exist_ok=True)
        self.identity_file.write_text(json.dumps(asdict(ident), indent=2) + "\n")
        self.identity_file.chmod(0o600)
        return ident

    def port(self, comp: Component) -> int | None:
        """The port ``comp`` listens on in this instance (None: the executor listens on none)."""
        return None if comp.port is None else comp.port + self.identity().port_offset

    def smtp_port(self) -> int:
        """Where the instance's Notification service delivers mail (127.0.0.1): SMTP_PORT + the port offset."""
        return SMTP_PORT + self.identity().port_offset

    def cs_url(self) -> str:
        return f"dips://{self.identity().hostname}:{self.port(CONFIGURATION_SERVER)}/Configuration/Server"

    def environment(self, user: str | None = "prodmgr", base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment a DIRAC process of this instance needs (as ``user``; None: host certificate)."""
        env = dict(os.environ if base is None else base)
        # These point HTTPS clients at the system CA bundle and would override DIRAC's CA directory.
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "DIRACSYSCONFIG"):
            env.pop(var, None)
        env["DIRAC_ROOT_PATH"] = str(self.root)
        env["X509_CERT_DIR"] = str(self.ca_dir)
        env["DIRAC_NO_CFG"] = "1"
        if user is None:
            env.pop("X509_USER_PROXY", None)
        else:
            env["X509_USER_PROXY"] = str(self.proxy(user))
        return env

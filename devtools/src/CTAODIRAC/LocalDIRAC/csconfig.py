"""The configuration of a local instance: ``etc/dirac.cfg``, ``etc/master.cfg`` and the CS it serves.

The ``Systems`` sections are built, as ``dirac-install-component`` would, from the ``ConfigTemplate.cfg``
files installed with DIRAC and with every extension (an extension's template merged over DIRAC's), with
each service in its DISET (``dips://``) form: the Tornado sections are dropped, because DIRAC's Tornado
services need DIRACGrid's tornado fork, which no registry here serves.

Plain Python on top of ``diraccfg``: it never imports DIRAC.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from diraccfg import CFG

from . import certs, opensearch
from .instance import (
    COMPONENTS,
    CONFIGURATION_SERVER,
    Component,
    CS_NAME,
    PROD_GROUP,
    SE_NAME,
    SELF_CREATING_DATABASES,
    SITE,
    SPARE_SE_NAME,
    SPARE_SITE,
    SQL_DATABASES,
    USER_GROUP,
    USERS,
    VO,
    Identity,
    Instance,
)

#: Transformation types of CTAO productions (and DIRAC's defaults) that the data-driven agents handle.
DATA_PROCESSING_TYPES = (
    "MCSimulation", "DataReprocessing", "Merging", "Merge", "Training", "ApplyModel", "Processing",
)  # fmt: skip
CPU_TIME_LEFT = 200000
#: A second storage element of the local site, for failover copies (the chaos campaign's output SE is banned for
#: writing for a while): its files can be read by jobs of the local site until DIRAC's request moves them.
FAILOVER_SE_NAME = "CTAO-Failover-SE"
#: The monitoring types sent to DIRAC's Monitoring system (OpenSearch): DIRAC's job and pilot states
#: (StatesAccountingAgent), data operations (DataManager, job wrappers), pilot submissions (SiteDirector); this
#: extension's failure-agent decisions and production progress (docs/monitoring.md). Not ``RMSMonitoring``: with it,
#: DIRAC 9.1's RequestExecutingAgent makes its reporter (connected to OpenSearch) before it forks its worker
#: processes, which then share that one HTTP connection: their answers get mixed ("Error committing",
#: SerializationError "HTTP/1.1 200 OK" in a body) and workers hand their requests back minutes late (seen in the
#: chaos campaign: 2-3 min; DIRAC's OpenSearch client waits up to 120 s for an answer), Assigned meanwhile.
MONITORING_TYPES = (
    "WMSHistory", "PilotsHistory", "DataOperation", "PilotSubmissionMonitoring",
    "FailureDecisions", "ProductionProgress",
)  # fmt: skip
#: The watchdog's checking period (heartbeats), in the central CS and the worker-node configuration: see _systems.
JOB_WRAPPER_CHECKING = {"CheckingTime": 10, "MinCheckingTime": 10}
SANDBOX_SE = "ProductionSandboxSE"
#: Operations/Defaults/ResourceStatus/Config/Cache of the local instance (see central_cs).
RSS_CACHE_SECONDS = 60
#: Seconds after which every process of the instance reads the CS again (etc/dirac.cfg; DIRAC's default: 300).
CS_REFRESH_TIME = 20
SANDBOX_STORE = next(c for c in COMPONENTS if c.full_name == "WorkloadManagement/SandboxStore")


def rss_elements() -> list[str]:
    """The sites and storage elements the ResourceStatus system must know (and hold Active)."""
    return sorted([SITE, SPARE_SITE, SE_NAME, SPARE_SE_NAME, FAILOVER_SE_NAME, SANDBOX_SE])


def extension_packages() -> list[str]:
    """DIRAC and its installed extensions, lowest priority first (so later ones win when merged)."""
    ranked: list[tuple[int, str]] = []
    for ep in entry_points(group="dirac"):
        if ep.name != "metadata":
            continue
        package = ep.value.split(":")[0].split(".")[0]
        # DIRAC's own priority is 0; loading its entry point would import DIRAC into this process
        ranked.append((0 if package == "DIRAC" else int(ep.load()()["priority"]), package))
    return [name for _, name in sorted(ranked)]


def _package_dir(name: str) -> Path:
    spec = find_spec(name)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


#: Seconds a task waits before the WorkflowTaskAgent may submit it (this extension's TransformationManager option).
TASK_SUBMISSION_DELAY = 3


def system_templates() -> dict[str, CFG]:
    """``{System: merged ConfigTemplate.cfg}`` over DIRAC and every extension."""
    merged: dict[str, CFG] = {}
    for package in extension_packages():
        for template in sorted(_package_dir(package).glob("*System/ConfigTemplate.cfg")):
            system = template.parent.name[: -len("System")]
            cfg = CFG().loadFromFile(str(template))
            merged[system] = merged[system].mergeWith(cfg) if system in merged else cfg
    for cfg in merged.values():
        if cfg.isSection("Services"):
            services = cfg["Services"]
            for name in services.listSections():
                if name.startswith("Tornado"):
                    services.deleteKey(name)
    return merged


def extension_databases() -> list[tuple[str, str, Path]]:
    """``(System, DBName, schema)`` of every ``<X>System/DB/<DBName>.sql`` an extension ships."""
    found = []
    for package in extension_packages():
        if package == "DIRAC":
            continue
        for sql in sorted(_package_dir(package).glob("*System/DB/*.sql")):
            found.append((sql.parent.parent.name[: -len("System")], sql.stem, sql))
    return found


def extension_services() -> list[Component]:
    """Every DISET service an extension ships (``<X>System/Service/<Name>Handler.py``), on the port its
    ``ConfigTemplate.cfg`` gives, in the "core" process (see ``instance.COMPONENTS``); not a handler that replaces
    one of DIRAC's services the instance runs anyway (DIRAC loads the extension's handler for it)."""
    templates = system_templates()
    dirac_services = {c.full_name for c in COMPONENTS}
    found = []
    for package in extension_packages():
        if package == "DIRAC":
            continue
        for handler in sorted(_package_dir(package).glob("*System/Service/*Handler.py")):
            name = handler.stem[: -len("Handler")]
            system = handler.parent.parent.name[: -len("System")]
            if name.startswith("Tornado") or f"{system}/{name}" in dirac_services:
                continue
            port = templates.get(system, CFG()).getOption(f"Services/{name}/Port")
            if not port:
                raise RuntimeError(f"{handler}: no Services/{name}/Port in {system}System/ConfigTemplate.cfg")
            found.append(Component(system, name, int(port), group="core"))
    return found


def all_components() -> list[Component]:
    """DIRAC's components of the instance, then the extensions' services, the executor last."""
    services = [c for c in COMPONENTS if c.kind == "service"]
    return [*services, *extension_services(), *[c for c in COMPONENTS if c.kind != "service"]]


def to_cfg(data: dict[str, Any]) -> CFG:
    """A nested dict as a CFG (lists become comma-separated values)."""
    cfg = CFG()
    for key, value in data.items():
        if isinstance(value, dict):
            cfg.createNewSection(key, contents=to_cfg(value))
        elif isinstance(value, (list, tuple)):
            cfg.setOption(key, ", ".join(str(v) for v in value))
        else:
            cfg.setOption(key, str(value))
    return cfg


def _systems(inst: Instance, ident: Identity) -> CFG:
    host = ident.hostname
    systems = CFG()
    for system, template in system_templates().items():
        systems.createNewSection(system, contents=template)
    databases: dict[str, dict[str, Any]] = {}
    for system, db in (*SQL_DATABASES, *SELF_CREATING_DATABASES, *[e[:2] for e in extension_databases()]):
        databases.setdefault(system, {})[db] = {"DBName": db}
    settings: dict[str, Any] = {
        "Databases": {
            "Host": "127.0.0.1", "Port": ident.mysql_port, "User": ident.mysql_user, "Password": ident.mysql_password,
        },
        # DIRAC 9.1 keeps job parameters and monitoring in OpenSearch: the instance's own node (plain HTTP on
        # 127.0.0.1, no security plugin: the user and password are sent and ignored)
        "NoSQLDatabases": {
            "Host": "127.0.0.1", "Port": opensearch.http_port(inst), "User": "none", "Password": "none", "SSL": "False",
        },
    }  # fmt: skip
    for system, dbs in databases.items():
        settings.setdefault(system, {})["Databases"] = dbs
    # DIRAC reschedules a job that failed for a reason of the worker node (e.g. its input could not be
    # downloaded) up to 3 times, holding it 60, 180, 300 s first; here it fails at once ("Maximum of reschedulings
    # reached") and the failure agent decides. (JobScheduling's RescheduleDelays cannot shorten the holds from
    # the CS: DIRAC 9.1 compares the CS strings with integers and the optimizer fails.)
    settings["WorkloadManagement"]["Databases"]["JobDB"]["MaxRescheduling"] = 0
    # The job wrapper's watchdog sends a heartbeat every CheckingTime s (DIRAC: 30 min, at least MinCheckingTime,
    # 20 min) and the StalledJobAgent declares a job stalled after (StalledTimeHours + 0.5) of these periods
    # without one: 10 s here (as in worker_cfg), so a job whose pilot died is found in seconds, not hours.
    settings["WorkloadManagement"]["JobWrapper"] = dict(JOB_WRAPPER_CHECKING)
    for comp in all_components():
        if comp.kind != "service":
            continue
        section = settings.setdefault(comp.system, {})
        port = inst.port(comp)
        section.setdefault("Services", {})[comp.name] = {"Port": port}
        section.setdefault("URLs", {})[comp.name] = f"dips://{host}:{port}/{comp.full_name}"
    settings["Configuration"]["Services"]["Server"]["HandlerPath"] = (
        "DIRAC/ConfigurationSystem/Service/ConfigurationHandler.py"
    )
    # DIRAC's Mail utility connects to the SMTP server the Notification service's CS section names (default:
    # localhost:25); here a local port of the instance, where nothing listens unless someone runs an SMTP sink.
    settings["Framework"]["Services"]["Notification"]["SMTP"] = {"Host": "127.0.0.1", "Port": inst.smtp_port()}
    # This extension's TransformationManager hands a task to the WorkflowTaskAgent once it is TASK_SUBMISSION_DELAY
    # s old (DIRAC: 30 s, a margin against reading a task its TransformationAgent is still writing; here the
    # database is local and idle, and each level of the campaign's chain waited those 30 s)
    settings["Transformation"]["Services"]["TransformationManager"]["TaskSubmissionDelay"] = TASK_SUBMISSION_DELAY
    settings["WorkloadManagement"]["Services"]["SandboxStore"].update(
        {"BasePath": str(inst.sandboxes), "Backend": "local", "LocalSE": SANDBOX_SE}
    )
    return systems.mergeWith(to_cfg(settings))


def central_cs(inst: Instance, ident: Identity) -> CFG:
    """The configuration the master CS serves."""
    host = ident.hostname
    user_names = [u.name for u in USERS]
    operator_properties = [
        "NormalUser", "ProductionManagement", "Operator", "FullDelegation", "ProxyManagement", "CSAdministrator",
        "JobAdministrator", "ServiceAdministrator", "SiteManager", "FileCatalogManagement",
    ]  # fmt: skip
    data: dict[str, Any] = {
        "DIRAC": {
            "VirtualOrganization": VO,
            "Configuration": {"Name": CS_NAME},
        },
        "DiracX": {"DisabledVOs": VO},
        "Registry": {
            "DefaultGroup": USER_GROUP,
            "VO": {VO: {"VOAdmin": "prodmgr", "DefaultGroup": USER_GROUP}},
            "Users": {u: {"DN": certs.user_dn(u), "Email": f"{u}@localhost"} for u in user_names},
            "Groups": {
                PROD_GROUP: {
                    "Users": [u.name for u in USERS if PROD_GROUP in u.groups],
                    "Properties": operator_properties,
                    "VO": VO,
                    "AutoUploadProxy": "True",
                },
                USER_GROUP: {
                    "Users": [u.name for u in USERS if USER_GROUP in u.groups],
                    "Properties": ["NormalUser"],
                    "VO": VO,
                    "AutoUploadProxy": "True",
                },
            },
            "Hosts": {
                host: {
                    "DN": certs.host_dn(host),
                    "Properties": [
                        "TrustedHost", "CSAdministrator", "JobAdministrator", "FullDelegation", "ProxyManagement",
                        "Operator", "ProductionManagement", "SiteManager", "GenericPilot", "ServiceAdministrator",
                    ],  # fmt: skip
                }
            },
        },
        "Operations": {
            "Defaults": {
                "Shifter": {
                    role: {"User": "prodmgr", "Group": PROD_GROUP}
                    for role in ("ProductionManager", "DataManager", "SAMManager", "TestManager")
                },
                "Transformations": {
                    "DataProcessing": DATA_PROCESSING_TYPES,
                    "DataManipulation": ["Replication", "Removal"],
                },
                "InputDataPolicy": {"Default": "DIRAC.WorkloadManagementSystem.Client.DownloadInputData"},
                "DataManagement": {
                    "RegistrationProtocols": ["file", "dips"],
                    "AccessProtocols": ["file", "dips"],
                    "WriteProtocols": ["file", "dips"],
                    "ThirdPartyProtocols": ["file", "dips"],
                },
                "Services": {
                    "Catalogs": {
                        "CatalogList": "FileCatalog",
                        "FileCatalog": {"AccessType": "Read-Write", "Status": "Active", "Master": "True"},
                    }
                },
                "JobDescription": {
                    "AllowedJobTypes": ["User", "Test", "Hospital", *DATA_PROCESSING_TYPES],
                },
                # each process keeps the resources' statuses this many s (+ up to 20 %) before asking again
                # (DIRAC: 300): a long-running agent (the RequestExecutingAgent's workers) sees a lifted SE ban a
                # minute later, not 5-6 (each failover request run against the old status waits another hour)
                "ResourceStatus": {"Config": {"State": "Active", "Cache": RSS_CACHE_SECONDS}},
                # No Accounting service runs here: by default send no records at all (each data operation would
                # otherwise warn "Error sending accounting record"). The types DIRAC's Monitoring system keeps in
                # OpenSearch go there (DIRAC's reporters write to the node directly, or through the Monitoring
                # service when the node did not answer as they started); the services' and agents' own activity
                # records (ServiceMonitoring, AgentMonitoring, from each of ~20 processes) stay off.
                "MonitoringBackends": {"Default": "", **{kind: "Monitoring" for kind in MONITORING_TYPES}},
                # where production jobs store outputs (dirac-ctao-run-step); the failover SE is the same
                # single local SE (a second one would only move files between two directories here)
                "CTAODIRAC": {"OutputSE": SE_NAME, "FailoverSEs": SE_NAME},
            }
        },
        "Resources": {
            "Sites": {
                SITE.split(".")[0]: {
                    SITE: {
                        "Name": SITE.split(".")[1],
                        "SE": [SE_NAME, FAILOVER_SE_NAME],
                        "CE": host,
                        "CEs": {
                            host: {
                                "CEType": "InProcess",
                                "Queues": {"local": {"maxCPUTime": CPU_TIME_LEFT, "SI00": 1000}},
                            }
                        },
                    },
                    SPARE_SITE: {"Name": SPARE_SITE.split(".")[1], "SE": SPARE_SE_NAME},
                }
            },
            "StorageElements": {
                SE_NAME: {
                    "BackendType": "local",
                    "File": {"Host": "", "Path": str(inst.storage), "Protocol": "file", "Access": "remote"},
                },
                FAILOVER_SE_NAME: {
                    "BackendType": "local",
                    "File": {"Host": "", "Path": str(inst.root / "storage-failover"), "Protocol": "file",
                             "Access": "remote"},
                },
                SPARE_SE_NAME: {
                    "BackendType": "local",
                    "File": {"Host": "", "Path": str(inst.root / "storage-spare"), "Protocol": "file",
                             "Access": "remote"},
                },
                # The SandboxStore (Backend = local) keeps sandboxes under <root>/sandboxes; jobs fetch theirs
                # from this storage element, which points at the SandboxStore service (DIRAC's DIP protocol).
                SANDBOX_SE: {
                    "BackendType": "DISET",
                    "DIP": {
                        "Host": host, "Port": inst.port(SANDBOX_STORE), "PluginName": "DIP", "Protocol": "dips",
                        "Path": "/WorkloadManagement/SandboxStore", "Access": "remote",
                    },
                },
            },
            "FileCatalogs": {"FileCatalog": {"AccessType": "Read-Write", "Status": "Active", "Master": "True"}},
            # no message queue here: with the section present (empty), DIRAC's monitoring reporters note the missing
            # failover queue at debug level instead of warning at every data operation of every job
            "MQServices": {},
        },
    }
    cfg = to_cfg(data)
    systems = CFG()
    systems.createNewSection("Systems", contents=_systems(inst, ident))
    return cfg.mergeWith(systems)


def local_cfg(inst: Instance, ident: Identity) -> CFG:
    """``etc/dirac.cfg``: what every process of the instance reads before it asks the CS for the rest."""
    return to_cfg(
        {
            "DIRAC": {
                "VirtualOrganization": VO,
                "Hostname": ident.hostname,
                # RefreshTime: every process reads the CS again after this many seconds (DIRAC's default 300), so that
                # e.g. a host registered with dirac-admin-add-host is known to the services soon (docs/operations.md)
                "Configuration": {"Servers": inst.cs_url(), "Name": CS_NAME, "RefreshTime": CS_REFRESH_TIME},
                "Security": {"CALocation": str(inst.ca_dir)},
            },
            "DiracX": {"DisabledVOs": VO},
            # no Accounting service runs here: without this, every process that sends accounting records (each
            # job's wrapper) leaves a ForwardDISET request in the ReqDB that can never be executed
            "LocalSite": {"DisableAccounting": True},
        }
    )


def master_cfg(inst: Instance, ident: Identity) -> CFG:
    """``etc/master.cfg``: given to the master CS only (``--cfg``): a client with ``Master = yes`` never
    asks the server for the configuration."""
    return to_cfg(
        {
            "DIRAC": {"Configuration": {"Master": "yes", "Name": CS_NAME}},
            "Systems": {
                "Configuration": {
                    "Services": {
                        "Server": {
                            "Port": inst.port(CONFIGURATION_SERVER),
                            "HandlerPath": "DIRAC/ConfigurationSystem/Service/ConfigurationHandler.py",
                        }
                    }
                }
            },
        }
    )


def worker_cfg(inst: Instance, ident: Identity) -> CFG:
    """``etc/worker.cfg``: what a pilot would write on the worker node, for the local JobAgent."""
    return to_cfg(
        {
            "LocalSite": {
                "Site": SITE,
                "GridCE": ident.hostname,
                "CEQueue": "local",
                "LocalCE": "InProcess",
                "VirtualOrganization": VO,
                "CPUTimeLeft": CPU_TIME_LEFT,
                "CPUNormalizationFactor": 10.0,
                "LocalSE": SE_NAME,
                "Architecture": "x86_64-linux",
                # jobs asking for the ctapipe software (tag) match here: `make install` makes its environment
                "Tag": "ctapipe",
                "DisableAccounting": True,  # see local_cfg
            },
            # the job wrapper's watchdog looks at the payload every PollingTime s (default 10): a job of a few
            # seconds would wait up to 10 s more for it to see the end
            # and sends a heartbeat every CheckingTime s (see _systems)
            "Systems": {"WorkloadManagement": {"JobWrapper": {"PollingTime": 1, **JOB_WRAPPER_CHECKING}}},
        }
    )


def write_configuration(inst: Instance, ident: Identity, *, central: bool) -> None:
    """Write the local files; with ``central``, also the CS file (only while the master is stopped: it
    reads it at start-up and rewrites it)."""
    inst.etc.mkdir(parents=True, exist_ok=True)
    for path, cfg in (
        (inst.dirac_cfg, local_cfg(inst, ident)),
        (inst.master_cfg, master_cfg(inst, ident)),
        (inst.worker_cfg, worker_cfg(inst, ident)),
    ):
        path.write_text(str(cfg))
    if central:
        inst.cs_cfg.write_text(str(central_cs(inst, ident)))
        inst.cs_cfg.chmod(0o600)

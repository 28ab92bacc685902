"""The local instance's OpenSearch node: DIRAC 9.1 keeps job parameters and monitoring records there.

The node is OpenSearch 2.19.6 assembled from Maven Central by ``make install`` into ``<checkout>/.opensearch``
(the *home*: ``lib/``, ``modules/``; ``$CTAODIRAC_OPENSEARCH_HOME`` moves it). Each instance runs its own node
from that home, with its configuration, data and node logs under ``<root>/opensearch`` and its output in
``<root>/logs/OpenSearch.log``; it listens on 127.0.0.1 only, HTTP on 9200 + the port offset, transport on
9300 + the offset. OpenSearch refuses to run as root: started by root, it runs as ``nobody`` (``setpriv``).

Plain Python: it never imports DIRAC.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .instance import Instance, checkout
from .processes import Process, port_open, read_pid, start_process

KEY = "OpenSearch"
VERSION = "2.19.6"
HTTP_PORT = 9200
TRANSPORT_PORT = 9300
#: Heap of the node (-Xms = -Xmx). The local DIRAC's few small indices use ~100 MB of it; with 512m the node grew to
#: ~0.5 GB resident over a campaign, with 256m it stays near 0.3 GB (the memory target of docs/local-dirac.md).
HEAP = "256m"
#: The user the node runs as when ``up`` runs as root.
UNPRIVILEGED_UID = 65534


def home() -> Path:
    """Where ``make install`` assembled the node: ``$CTAODIRAC_OPENSEARCH_HOME``, else ``.opensearch`` in the
    checkout."""
    env = os.environ.get("CTAODIRAC_OPENSEARCH_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return (checkout() or Path.cwd()) / ".opensearch"


def http_port(inst: Instance) -> int:
    return HTTP_PORT + inst.identity().port_offset


def transport_port(inst: Instance) -> int:
    return TRANSPORT_PORT + inst.identity().port_offset


def node_dir(inst: Instance) -> Path:
    """The node's own directory in the instance: ``config/``, ``data/``, ``logs/``, ``tmp/``."""
    return inst.root / "opensearch"


def _opensearch_yml(inst: Instance) -> str:
    node = node_dir(inst)
    return "\n".join([
        "# written by dirac-ctao-local up",
        "cluster.name: ctao-local",
        "node.name: local",
        "discovery.type: single-node",
        "network.host: 127.0.0.1",
        f"http.port: {http_port(inst)}",
        f"transport.port: {transport_port(inst)}",
        f"path.data: {node / 'data'}",
        f"path.logs: {node / 'logs'}",
        # a full disk must not turn DIRAC's indices read-only on a development machine
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "",
    ])  # fmt: skip


#: Node logs to the console, which ``up`` sends to ``<root>/logs/OpenSearch.log`` like every process's output.
LOG4J2 = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = error
"""


def command(inst: Instance) -> list[str]:
    """The node's command line: the server's main class with the system properties upstream's launcher sets
    (it is started directly, so ``jvm.options`` is not read). ``-XX:TieredStopAtLevel=1`` (C1 only) halves the
    start-up (most of it CPU spent building the Painless whitelist) and costs nothing noticeable here."""
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java not found: make install installs it (Debian's default-jdk-headless)")
    node = node_dir(inst)
    cmd = [
        java, f"-Xms{HEAP}", f"-Xmx{HEAP}", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss1m",
        "-Dfile.encoding=UTF-8", "-Djava.awt.headless=true", "-Djna.nosys=true",
        f"-Djava.io.tmpdir={node / 'tmp'}", "-XX:-OmitStackTraceInFastThrow",
        "-Dio.netty.noUnsafe=true", "-Dio.netty.noKeySetOptimization=true",
        "-Dio.netty.recycler.maxCapacityPerThread=0", "-Dio.netty.allocator.numDirectArenas=0",
        "-Dlog4j.shutdownHookEnabled=false", "-Dlog4j2.disable.jmx=true", "-Dlog4j2.formatMsgNoLookups=true",
        "-Djava.locale.providers=SPI,COMPAT", "-Djava.security.manager=allow",
        f"-Dopensearch.path.home={home()}", f"-Dopensearch.path.conf={node / 'config'}",
        "-Dopensearch.distribution.type=tar", "-Dopensearch.bundled_jdk=false",
        "-cp", f"{home() / 'lib'}/*", "org.opensearch.bootstrap.OpenSearch",
    ]  # fmt: skip
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        cmd = [setpriv, f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}", "--clear-groups", *cmd]
    return cmd


def _prepare(inst: Instance) -> None:
    """Write the node's configuration and make its directories writable by the user it runs as."""
    if not (home() / ".assembled").is_file():
        raise RuntimeError(f"no OpenSearch node assembled at {home()}: run make install")
    node = node_dir(inst)
    for sub in ("config", "data", "logs", "tmp"):
        (node / sub).mkdir(parents=True, exist_ok=True)
    (node / "config" / "opensearch.yml").write_text(_opensearch_yml(inst))
    (node / "config" / "log4j2.properties").write_text(LOG4J2)
    if os.geteuid() != 0:
        return
    for path in [node, *node.rglob("*")]:
        os.chown(path, UNPRIVILEGED_UID, UNPRIVILEGED_UID, follow_symlinks=False)
    # the unprivileged user must reach the home's jars and the node's directory through every parent: a checkout
    # or an instance under a private directory (/root, pytest's /tmp/pytest-of-root) gets search permission for
    # others on those parents (search only: their listings stay private)
    for target in (home(), node):
        for parent in target.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    probe = subprocess.run(
        [*command(inst)[:4], "sh", "-c", 'test -r "$1" && test -w "$2"', "probe",
         str(home() / "lib" / f"opensearch-{VERSION}.jar"), str(node / "data")],
        capture_output=True,
    )  # fmt: skip
    if probe.returncode != 0:
        raise RuntimeError(
            f"user {UNPRIVILEGED_UID} (the OpenSearch node's: it refuses to run as root) cannot read {home()} or "
            f"write {node}: make their parent directories searchable by others (chmod o+x)"
        )


def start(inst: Instance) -> str:
    """Start the node if it is not running; do not wait for it (see :func:`wait_ready`)."""
    proc = Process(inst, KEY)
    if read_pid(proc) is not None:
        return "running"
    port = http_port(inst)
    if port_open(port):
        raise RuntimeError(
            f"port {port} for OpenSearch is taken by another process (another local DIRAC? give this one another "
            "CTAODIRAC_LOCAL_PORT_OFFSET when you make it)"
        )
    _prepare(inst)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"))}
    env["OPENSEARCH_PATH_CONF"] = str(node_dir(inst) / "config")
    start_process(inst, KEY, command(inst), env)
    return "starting"


def health(inst: Instance, timeout: float = 2.0) -> dict | None:
    """The node's ``_cluster/health``, or None while it does not answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{http_port(inst)}/_cluster/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def wait_ready(inst: Instance, timeout: float = 180.0) -> float:
    """Wait until the node answers with a usable cluster (status green or yellow); return the seconds waited.
    Fails early, naming its log, if it dies."""
    t0 = time.monotonic()
    proc = Process(inst, KEY)
    while True:
        state = health(inst)
        if state is not None and state.get("status") in ("green", "yellow"):
            return time.monotonic() - t0
        if read_pid(proc) is None:
            raise RuntimeError(f"OpenSearch exited while starting: see {inst.log(KEY)}")
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"OpenSearch does not answer after {timeout:.0f} s: see {inst.log(KEY)}")
        time.sleep(0.3)


#: DIRAC services that connect to OpenSearch once, when they start (their ``JobParametersDB`` or ``MonitoringDB``
#: stays "Not connected" for the life of the process if the node did not answer then): ``up`` starts them only
#: once the node answers. Everything else starts beside the node.
CLIENT_SERVICES = frozenset({
    "WorkloadManagement/JobMonitoring", "WorkloadManagement/JobStateUpdate", "WorkloadManagement/WMSAdministrator",
    "Monitoring/Monitoring",
})  # fmt: skip

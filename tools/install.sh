#!/usr/bin/env bash
# One-command install on Debian 12 (run as root, or as a user when the Debian packages are already there):
#   - the Debian packages DIRAC's server side needs (MariaDB, MySQL client headers, openssl, build tools);
#   - the virtual environment .venv at the repository root with DIRAC (without gfal2-python, see README)
#     and this package in editable mode, versions pinned by requirements/lock.txt, with the development tooling
#     (devtools/: the CTAODIRAC-devtools distribution, dirac-ctao-local and the toy events) also editable.
# Re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${CTAODIRAC_VENV:-$ROOT/.venv}

DEB_PACKAGES=(mariadb-server mariadb-client default-libmysqlclient-dev pkg-config swig libssl-dev
              build-essential openssl ca-certificates procps git unzip util-linux iproute2
              chromium libnss3-tools  # the portal's browser test: headless Chromium, certutil/pk12util (NSS)
              runit)  # runsvdir/runsv/sv: the agents of the data-centre VM host (docs/operations.md)
# the local OpenSearch node (see below): Java 17 and Maven, unless there already
command -v java >/dev/null 2>&1 || DEB_PACKAGES+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || DEB_PACKAGES+=(maven)
# A usable interpreter of a version: on PATH (a pyenv shim only counts if it runs), in pyenv, or Debian's.
find_python() {
    local v=$1 c
    for c in "$(command -v "python$v" || true)" "$(pyenv root 2>/dev/null)"/versions/"$v"*/bin/"python$v" \
             "/usr/bin/python$v"; do
        [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import venv' >/dev/null 2>&1 && { echo "$c"; return 0; }
    done
    return 1
}
PY=$(find_python 3.11 || true)
[ -n "$PY" ] || DEB_PACKAGES+=(python3.11 python3.11-venv)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install: missing Debian packages: ${missing[*]} -- run this as root (or apt-get install them)" >&2
        exit 1
    fi
    echo "install: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
PY=$(find_python 3.11)

if [ ! -x "$VENV/bin/python" ]; then
    echo "install: creating $VENV with $PY"
    # --copies: DIRAC's job wrapper starts os.path.realpath(sys.executable); with a symlinked interpreter that is
    # the base Python, outside the venv, and jobs run by the local JobAgent could not import DIRAC.
    "$PY" -m venv --copies "$VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
    "$VENV/bin/python" -m pip install -q uv
fi
# uv verifies TLS with the system's certificate store (these machines route through a TLS-inspecting proxy)
export SSL_CERT_FILE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
# Bytecode for every module, written once at install (--compile-bytecode: uv compiles the whole site-packages;
# compileall the two editable source trees): with PYTHONDONTWRITEBYTECODE set (as on these machines) and no .pyc
# installed (uv's default), each Python process compiled DIRAC from source again: ~1 s of the ~2.8 s CPU a DIRAC
# service spent starting, and three such processes per job. The same for the two other environments below.
"$VENV/bin/uv" pip install --native-tls -q --python "$VENV/bin/python" --compile-bytecode \
    -c requirements/lock.txt --override requirements/overrides.txt --config-settings editable_mode=compat \
    -e ".[testing,portal]" -e ./devtools
"$VENV/bin/python" -m compileall -q -j 0 src devtools/src > /dev/null
echo "install: ready: $VENV (DIRAC $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("DIRAC"))'))"

# The three parts below (the ctapipe and CTADIRAC environments, OpenSearch) need nothing of each other, only the
# environment above (its uv): they are made side by side, each printing its own lines; the install fails, once
# all three have ended, if any of them failed.
PY312=$(find_python 3.12 || true)
parts=()

# The payload environment of the ctapipe steps: ctapipe 0.32 needs Python >= 3.12 (DIRAC's services need 3.11),
# so it is a second environment, with this package's toy DL0 source (the ctapipe_io plugin) in it.
CTAPIPE_VENV=${CTAODIRAC_CTAPIPE_VENV:-$ROOT/.venv-ctapipe}
(
if [ -z "$PY312" ]; then
    echo "install: no python3.12 here: the ctapipe payload environment is not made (its tests will say so)"
else
    [ -x "$CTAPIPE_VENV/bin/python" ] || "$PY312" -m venv --copies "$CTAPIPE_VENV"
    "$VENV/bin/uv" pip install --native-tls -q --python "$CTAPIPE_VENV/bin/python" --compile-bytecode \
        -r requirements/ctapipe-lock.txt
    # only the toy source (CTAODIRAC.ToyEvents, of the devtools distribution) is used in this environment: not DIRAC
    "$VENV/bin/uv" pip install --native-tls -q --python "$CTAPIPE_VENV/bin/python" --no-deps \
        --config-settings editable_mode=compat -e . -e ./devtools
    "$CTAPIPE_VENV/bin/python" -m compileall -q -j 0 src devtools/src > /dev/null
    echo "install: ready: $CTAPIPE_VENV (ctapipe $("$CTAPIPE_VENV/bin/python" -c 'import ctapipe; print(ctapipe.__version__)'))"
fi
) &
parts+=($!)

# The predecessor CTADIRAC 3.3.1 (Python >= 3.12, DIRAC 9.1.20), run by the differential test of the legacy
# reader (tests/unit/legacy_oracle) in an environment of its own, pinned by requirements/ctadirac-lock.txt.
CTADIRAC_VENV=${CTAODIRAC_CTADIRAC_VENV:-$ROOT/.venv-ctadirac}
(
if [ -z "$PY312" ]; then
    echo "install: no python3.12 here: the CTADIRAC 3.3.1 environment is not made (the oracle test says so)"
else
    [ -x "$CTADIRAC_VENV/bin/python" ] || "$PY312" -m venv --copies "$CTADIRAC_VENV"
    "$VENV/bin/uv" pip install --native-tls -q --python "$CTADIRAC_VENV/bin/python" --compile-bytecode \
        --override requirements/overrides.txt -r requirements/ctadirac-lock.txt
    echo "install: ready: $CTADIRAC_VENV (CTADIRAC $("$CTADIRAC_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("CTADIRAC"))'))"
fi
) &
parts+=($!)

# The local DIRAC's OpenSearch node (DIRAC 9.1 keeps job parameters and monitoring records there): OpenSearch
# 2.19.6 assembled from Maven Central jars (no Debian package, no release archive to fetch here) into
# .opensearch/ (git-ignored), as upstream's distribution lays it out: lib/ (the server), modules/<name>/ (each
# module's jars, minus those already in lib/, with the plugin-descriptor.properties and plugin-security.policy
# the Maven jars do not carry), empty bin/ and plugins/. Made once, in a temporary directory then moved into place.
(
OPENSEARCH_VERSION=2.19.6
OPENSEARCH_HOME=${CTAODIRAC_OPENSEARCH_HOME:-$ROOT/.opensearch}
OPENSEARCH_MODULES=(transport-netty4-client lang-painless analysis-common aggs-matrix-stats-client mapper-extras-client
                    reindex-client parent-join-client lang-mustache-client percolator-client rank-eval-client)
opensearch_stamp="$OPENSEARCH_VERSION $(sha256sum tools/opensearch/pom.xml | cut -c1-16) ${OPENSEARCH_MODULES[*]}"
if [ "$(cat "$OPENSEARCH_HOME/.assembled" 2>/dev/null)" != "$opensearch_stamp" ]; then
    echo "install: assembling OpenSearch $OPENSEARCH_VERSION from Maven Central into $OPENSEARCH_HOME"
    t0=$(date +%s)
    build="$OPENSEARCH_HOME.tmp"
    rm -rf "$build"
    mkdir -p "$build"/{bin,lib,modules,plugins,config}
    # Maven verifies TLS with Java's trust store, built by Debian's ca-certificates-java from the system's
    # certificates (these machines' TLS-inspecting proxy included); Maven Central may be slow: Maven retries each
    # download, and each resolution is tried 3 times.
    mvn_copy() {
        local out=$1 try
        shift
        for try in 1 2 3; do
            MAVEN_OPTS="${MAVEN_OPTS:-} -XX:TieredStopAtLevel=1" mvn -B -q -Dstyle.color=never \
                -f tools/opensearch/pom.xml "$@" dependency:copy-dependencies -DincludeScope=runtime \
                -DoutputDirectory="$out" -Dmaven.wagon.http.retryHandler.count=3 \
                -Djavax.net.ssl.trustStore=/etc/ssl/certs/java/cacerts >"$build.log" 2>&1 && return 0
            tail -20 "$build.log" >&2
            echo "install: Maven failed (try $try of 3)" >&2
            sleep $((try * 5))
        done
        return 1
    }
    mvn_copy "$build/lib" -Pserver
    for artifact in "${OPENSEARCH_MODULES[@]}"; do
        name=${artifact%-client}  # modules published under -client names on Maven Central are named without it
        dir="$build/modules/$name"
        mvn_copy "$dir" -Pmodule -Dmodule.artifact="$artifact"
        for jar in "$dir"/*.jar; do
            [ ! -e "$build/lib/$(basename "$jar")" ] || rm "$jar"
        done
        classname=$(unzip -Z1 "$dir/$artifact-$OPENSEARCH_VERSION.jar" | grep -E '/[A-Za-z0-9]+Plugin\.class$' | head -1)
        [ -n "$classname" ] || { echo "install: no Plugin class in $artifact" >&2; exit 1; }
        classname=${classname%.class}
        {
            echo "name=$name"
            echo "description=OpenSearch module $name (from Maven Central: org.opensearch.plugin:$artifact)"
            echo "version=$OPENSEARCH_VERSION"
            echo "opensearch.version=$OPENSEARCH_VERSION"
            echo "java.version=17"
            echo "classname=${classname//\//.}"
            [ "$name" != analysis-common ] || echo "extended.plugins=lang-painless"
        } > "$dir/plugin-descriptor.properties"
    done
    # the permissions of upstream's plugin-metadata/plugin-security.policy of the modules that have one
    cat > "$build/modules/lang-painless/plugin-security.policy" <<'POLICY'
grant {
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
};
POLICY
    cat > "$build/modules/transport-netty4/plugin-security.policy" <<'POLICY'
grant {
  permission java.io.FilePermission "/proc/sys/net/core/somaxconn", "read";
  permission java.net.SocketPermission "*", "accept,connect";
  permission java.lang.RuntimePermission "*", "setContextClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
  permission java.util.PropertyPermission "sun.nio.ch.bugLevel", "write";
};
POLICY
    cat > "$build/modules/reindex/plugin-security.policy" <<'POLICY'
grant {
  permission java.net.SocketPermission "*", "connect";
};
grant codeBase "${codebase.opensearch-rest-client}" {
  permission java.net.NetPermission "getProxySelector";
};
grant codeBase "${codebase.httpasyncclient}" {
  permission java.net.NetPermission "getProxySelector";
};
POLICY
    cat > "$build/modules/lang-mustache/plugin-security.policy" <<'POLICY'
grant {
  permission java.lang.RuntimePermission "accessDeclaredMembers";
};
POLICY
    chmod -R a+rX "$build"  # the node runs as an unprivileged user (it refuses root)
    echo "$opensearch_stamp" > "$build/.assembled"
    rm -rf "$OPENSEARCH_HOME" "$build.log"
    mv "$build" "$OPENSEARCH_HOME"
    echo "install: ready: $OPENSEARCH_HOME (OpenSearch $OPENSEARCH_VERSION, $(du -sh "$OPENSEARCH_HOME" | cut -f1), $(( $(date +%s) - t0 )) s)"
else
    echo "install: ready: $OPENSEARCH_HOME (OpenSearch $OPENSEARCH_VERSION)"
fi
) &
parts+=($!)

failed=0
for part in "${parts[@]}"; do
    wait "$part" || failed=1
done
if [ "$failed" -ne 0 ]; then
    echo "install: an environment above was not made (its messages say why)" >&2
    exit 1
fi

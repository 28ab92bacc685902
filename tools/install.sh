#!/usr/bin/env bash
# One-command install on Debian 12 (run as root, or as a user when the Debian packages are already there):
#   - the Debian packages DIRAC's server side needs (MariaDB, MySQL client headers, openssl, build tools);
#   - the virtual environment .venv at the repository root with DIRAC (without gfal2-python, see README)
#     and this package in editable mode, versions pinned by requirements/lock.txt.
# Re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${CTAODIRAC_VENV:-$ROOT/.venv}

DEB_PACKAGES=(mariadb-server mariadb-client default-libmysqlclient-dev pkg-config swig libssl-dev
              build-essential openssl ca-certificates procps git)
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
"$VENV/bin/uv" pip install --native-tls -q --python "$VENV/bin/python" \
    -c requirements/lock.txt --override requirements/overrides.txt -e ".[testing]"
echo "install: ready: $VENV (DIRAC $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("DIRAC"))'))"

# The payload environment of the ctapipe steps: ctapipe 0.32 needs Python >= 3.12 (DIRAC's services need 3.11),
# so it is a second environment, with this package's toy DL0 source (the ctapipe_io plugin) in it.
CTAPIPE_VENV=${CTAODIRAC_CTAPIPE_VENV:-$ROOT/.venv-ctapipe}
PY312=$(find_python 3.12 || true)
if [ -z "$PY312" ]; then
    echo "install: no python3.12 here: the ctapipe payload environment is not made (its tests will say so)"
else
    [ -x "$CTAPIPE_VENV/bin/python" ] || "$PY312" -m venv --copies "$CTAPIPE_VENV"
    "$VENV/bin/uv" pip install --native-tls -q --python "$CTAPIPE_VENV/bin/python" --compile-bytecode \
        -r requirements/ctapipe-lock.txt
    # only the package's toy source is used in this environment: not its DIRAC dependency
    "$VENV/bin/uv" pip install --native-tls -q --python "$CTAPIPE_VENV/bin/python" --no-deps -e .
    echo "install: ready: $CTAPIPE_VENV (ctapipe $("$CTAPIPE_VENV/bin/python" -c 'import ctapipe; print(ctapipe.__version__)'))"
fi

# The predecessor CTADIRAC 3.3.1 (Python >= 3.12, DIRAC 9.1.20), run by the differential test of the legacy
# reader (tests/unit/legacy_oracle) in an environment of its own, pinned by requirements/ctadirac-lock.txt.
CTADIRAC_VENV=${CTAODIRAC_CTADIRAC_VENV:-$ROOT/.venv-ctadirac}
if [ -z "$PY312" ]; then
    echo "install: no python3.12 here: the CTADIRAC 3.3.1 environment is not made (the oracle test says so)"
else
    [ -x "$CTADIRAC_VENV/bin/python" ] || "$PY312" -m venv --copies "$CTADIRAC_VENV"
    "$VENV/bin/uv" pip install --native-tls -q --python "$CTADIRAC_VENV/bin/python" \
        --override requirements/overrides.txt -r requirements/ctadirac-lock.txt
    echo "install: ready: $CTADIRAC_VENV (CTADIRAC $("$CTADIRAC_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("CTADIRAC"))'))"
fi

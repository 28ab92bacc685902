#!/usr/bin/env bash
# `make test-unit`: the unit tests in DIRAC's environment (pytest-xdist workers) and, beside them, the toy ctapipe
# source's tests in the ctapipe environment (Python 3.12) when install made it. The toy tests are one process
# (~1.5 min, most of it building the toy chain) and the xdist workers leave part of the 2 cores idle, so the two
# side by side end ~1 min sooner than one after the other. Both run to their end; fails when either failed.
set -uo pipefail
py=${1:?usage: unit-tests.sh PYTHON CTAPIPE_PYTHON [WORKERS]}
ctapipe_py=${2:?usage: unit-tests.sh PYTHON CTAPIPE_PYTHON [WORKERS]}
workers=${3:-2}

toy_log=$(mktemp -t ctaodirac-toy-tests.XXXXXX)
trap 'rm -f "$toy_log"' EXIT
toy_pid=
if [ -x "$ctapipe_py" ]; then
  "$ctapipe_py" -m pytest tests/unit/toyevents -q -p no:cacheprovider >"$toy_log" 2>&1 &
  toy_pid=$!
fi

"$py" -m pytest tests/unit -q -n "$workers"
unit=$?

toy=0
if [ -n "$toy_pid" ]; then
  wait "$toy_pid"
  toy=$?
  echo "--- the toy ctapipe source's tests (ctapipe environment, run beside the above): $ctapipe_py"
  cat "$toy_log"
else
  echo "test-unit: no $ctapipe_py (no python3.12 at install): the toy ctapipe source was not tested"
fi
[ "$unit" -eq 0 ] && [ "$toy" -eq 0 ]

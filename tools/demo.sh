#!/usr/bin/env bash
# The README's main job, after `make up`: show the local DIRAC and the example production's plan.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/dirac-ctao-local status || true
if [ -x .venv/bin/dirac-ctao-submit-production ] && [ -f examples/ctapipe_campaign.yaml ]; then
    .venv/bin/dirac-ctao-submit-production examples/ctapipe_campaign.yaml
else
    echo "demo: the YAML builder (issue 3) has not landed yet: nothing to submit" >&2
fi

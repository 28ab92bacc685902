# CTAODIRAC developer commands. See README.md.
VENV ?= .venv
PY := $(VENV)/bin/python
CTAPIPE_PY := .venv-ctapipe/bin/python
LOCAL := $(VENV)/bin/dirac-ctao-local

.PHONY: install up down status env demo chaos test test-unit test-integration bench bench-campaign lock clean-local

install:            ## Debian packages (as root) + .venv with DIRAC and this package (idempotent)
	bash tools/install.sh

up:                 ## bring the local DIRAC up (idempotent)
	$(LOCAL) up

down:               ## stop the local DIRAC (state kept)
	$(LOCAL) down

status:
	$(LOCAL) status

demo: up            ## the main job: local DIRAC up, then the example production shown
	bash tools/demo.sh

SEED ?= 1
chaos: up           ## the example campaign while faults are injected (docs/chaos.md; ~20-30 min): SEED=N
	$(LOCAL) campaign --chaos --seed $(SEED)

#: pytest-xdist workers of each layer (the integration tests' second worker runs a local DIRAC of its own)
TEST_WORKERS ?= 2

test: test-unit test-integration   ## every test (brings the local DIRAC up if needed)

test-unit:           ## unit tests; beside them the toy ctapipe source's, in the ctapipe environment (Python 3.12) when made
	bash tools/unit-tests.sh $(PY) $(CTAPIPE_PY) $(TEST_WORKERS)

test-integration:   ## integration tests, on TEST_WORKERS local DIRACs side by side (tests/integration/conftest.py)
	$(PY) -m pytest tests/integration -q --durations=20 -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench:              ## benchmarks: numbers and ratios (the local DIRAC one uses its own instance, ports +3000)
	CTAODIRAC_LOCAL_PORT_OFFSET=3000 $(PY) benchmarks/local_dirac.py
	CTAODIRAC_LOCAL_PORT_OFFSET=3000 $(PY) benchmarks/production_submission.py
	$(PY) benchmarks/portal_page.py

bench-campaign:     ## the example campaign end to end on its own local DIRAC (ports +3500; ~10-15 min), time split
	$(PY) benchmarks/campaign.py

lock:               ## re-resolve requirements/lock.txt from requirements/constraints.in
	SSL_CERT_FILE=$${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} $(VENV)/bin/uv pip compile --native-tls -q \
	  --python-version 3.11 --override requirements/overrides.txt requirements/constraints.in -o requirements/lock.txt

clean-local:        ## stop the local DIRAC and delete its state
	$(LOCAL) purge --yes

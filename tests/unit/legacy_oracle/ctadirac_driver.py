"""Run CTADIRAC 3.3.1's own production builder on a batch of legacy files; print what it builds as JSON.

This script runs in the CTADIRAC environment (``.venv-ctadirac``, Python 3.12, made by ``make install``), never
in ours: it imports CTADIRAC and DIRAC 9.1.20 and is not part of the package. Usage::

    .venv-ctadirac/bin/python ctadirac_driver.py BATCH.json OUT.json

``BATCH.json`` is ``{"datasets": {name: MetaQuery}, "files": [{"name": ..., "text": YAML}, ...]}``.
Each file goes through what ``cta-prod-submit NAME FILE`` (mode ``ps``) does before it starts the
production: the YAML read as its ``main`` reads it, the ``input_sandbox`` check of ``main``, then
``build_workflow`` for real (CTADIRAC's WorkflowElement, its Job classes, DIRAC's Job, ProductionStep and
ProductionClient.addProductionStep). Only what would reach a server is stood in:

- ``Script.parseCommandLine`` and ``DIRAC.initialize`` (run at the script's import);
- the ProductionClient's RPC client (``addProductionStep`` answers a step ID);
- the FileCatalogClient's ``getDatasetParameters`` (the batch's datasets) and ``findFilesByMetadata`` (none);
- ProdDataManager (catalog directories): ``createMDTopDirectory`` answers a path.

A child's parent step is handed to it with its output query as the parent stored it (a clean copy):
CTADIRAC aliases the child's input query to the parent's output query, so edits made for one sibling leak
into the next; the leak is CTADIRAC's bug, not its rule (LEGACY-YAML.md).

Per file the output is ``{"name", "outcome": "built" | "refused" | "crashed", "message", "steps": [...]}``
with, per step in build order, what ``ProductionStep.getAsDict`` sends to the ProductionManager: ``name``,
``type``, ``parents`` (step names), ``inputquery`` and ``outputquery`` (decoded from their JSON),
``groupsize``.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback


def _stub_dirac() -> None:
    import DIRAC
    from DIRAC import S_OK
    from DIRAC.Core.Base.Script import Script
    from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient

    Script.parseCommandLine = staticmethod(lambda *args, **kwargs: None)
    DIRAC.initialize = lambda *args, **kwargs: None

    class FakeRPC:
        def __init__(self) -> None:
            self.sent: list[dict] = []

        def addProductionStep(self, step_dict: dict) -> dict:  # noqa: N802 (DIRAC's name)
            self.sent.append(step_dict)
            return S_OK(len(self.sent))

    def get_rpc(self, rpc=None, url="", timeout=None):  # noqa: ARG001
        # ProductionClient turns unknown attributes into RPC calls: look in the instance's own dict
        return self.__dict__.setdefault("_fake_rpc", FakeRPC())

    ProductionClient._getRPC = get_rpc

    def get_dataset_parameters(self, datasets, timeout=120):  # noqa: ARG001
        name = datasets if isinstance(datasets, str) else list(datasets)[0]
        if name in DATASETS:
            return S_OK({"Successful": {name: {"MetaQuery": json.loads(json.dumps(DATASETS[name]))}}, "Failed": {}})
        return S_OK({"Successful": {}, "Failed": {name: "Dataset not found"}})

    FileCatalogClient.getDatasetParameters = get_dataset_parameters
    FileCatalogClient.findFilesByMetadata = lambda self, *args, **kwargs: S_OK([])


DATASETS: dict[str, dict] = {}
ERRORS: list[str] = []


def main(batch_path: str, out_path: str) -> int:
    with open(batch_path) as stream:
        batch = json.load(stream)
    DATASETS.update(batch["datasets"])
    _stub_dirac()

    import DIRAC
    from DIRAC import S_OK
    from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
    from ruamel.yaml import YAML

    from CTADIRAC.ProductionSystem.scripts import cta_prod_submit

    class FakeProdDataManager:
        def createMDTopDirectory(self, metadata_json, base_path, category):  # noqa: N802 (CTADIRAC's name)
            return S_OK(f"{base_path}/{category}")

    cta_prod_submit.ProdDataManager = FakeProdDataManager
    original_find_parent = cta_prod_submit.find_parent_prod_step
    stored_outputs: dict[int, str] = {}

    def find_parent_clean(workflow_element_list, workflow_step):
        parent = original_find_parent(workflow_element_list, workflow_step)
        if parent is not None and id(parent) in stored_outputs:
            parent.Outputquery = json.loads(stored_outputs[id(parent)])
        return parent

    cta_prod_submit.find_parent_prod_step = find_parent_clean

    DIRAC.gLogger.setLevel("FATAL")
    original_error = DIRAC.gLogger.error

    def record_error(msg, *args, **kwargs):
        ERRORS.append(" ".join(str(part) for part in (msg, *args)))
        return original_error(msg, *args, **kwargs)

    DIRAC.gLogger.error = record_error

    results = []
    for entry in batch["files"]:
        ERRORS.clear()
        stored_outputs.clear()
        result: dict = {"name": entry["name"], "outcome": "built", "message": "", "steps": []}
        client = ProductionClient()
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                config = YAML(typ="safe", pure=True).load(entry["text"])
                # cta-prod-submit's main, mode ps
                for prod_step in config["ProdSteps"]:
                    if "input_sandbox" in prod_step["job_config"]:
                        DIRAC.gLogger.error("Not allowed input_sandbox key in production mode. Only available in wms mode")
                        DIRAC.exit(-1)
                original_add = client.addProductionStep

                def add_step(prod_step, _add=original_add):
                    res = _add(prod_step)
                    sent = client.__dict__["_fake_rpc"].sent[-1]
                    stored_outputs[id(prod_step)] = sent["outputquery"]
                    return res

                client.addProductionStep = add_step
                cta_prod_submit.build_workflow(config, client, "oracle", "ps")
        except SystemExit as exc:
            result["outcome"] = "refused"
            result["message"] = ERRORS[-1] if ERRORS else f"exit {exc.code}"
        except Exception as exc:  # noqa: BLE001 (a crash of the predecessor is a result here)
            result["outcome"] = "crashed"
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            result["message"] = f"{type(exc).__name__}: {exc} ({frame.filename.split('/')[-1]}:{frame.lineno})"
        rpc = client.__dict__.get("_fake_rpc")
        for sent in rpc.sent if rpc else []:
            result["steps"].append(
                {
                    "name": sent["name"],
                    "type": sent["stepType"],
                    "parents": sent["parentStep"],
                    "inputquery": json.loads(sent["inputquery"]),
                    "outputquery": json.loads(sent["outputquery"]),
                    "groupsize": sent["groupsize"],
                }
            )
        results.append(result)
    with open(out_path, "w") as stream:
        json.dump(results, stream, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

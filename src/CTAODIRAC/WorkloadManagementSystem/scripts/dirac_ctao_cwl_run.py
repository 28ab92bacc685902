"""Run a CWL CommandLineTool or Workflow with cwltool inside a DIRAC job, then register its catalog outputs.

Usage (written into the job by dirac-ctao-submit-cwl-job, not typed by hand):

    dirac-ctao-cwl-run CONFIG

CONFIG is CTAODIRAC.Core.CWL.jobside.CWLRunConfig (base64 JSON). The CWL document, packed at submission
(cwltool --pack: one file holding every tool a workflow runs), and the local inputs came in the input sandbox, the lfn:// inputs were downloaded by DIRAC's input data policy. In order:

1. write the job order (cwl-job-order.json) with each lfn:// File replaced by its downloaded copy; a missing
   copy ends the job with exit 2 ("Input Data Not Available");
2. run cwltool (with this interpreter) with the container runtime of the CS option
   Operations/<VO>/CTAODIRAC/ContainerRuntime (none, docker, podman, singularity, apptainer; default none:
   --no-container); a failure, or a catalog output the tool did not produce, ends the job with exit 1;
3. copy the other outputs where the output sandbox finds them;
4. upload each catalog output to its storage element (dirac:Job outputs.se, else CTAODIRAC/OutputSE),
   register it at its LFN and set its metadata: a field the catalog declares as directory metadata on the
   output's directory, the others on the file; a field it does not know is declared first, as a production
   would (file metadata for nsb, split, run_number..., directory metadata for the rest). An output
   without file metadata whose upload fails goes to CTAODIRAC/FailoverSEs with a DIRAC request. Anything
   else that fails ends the job with exit 3 ("Uploading Output Data").
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import NoReturn

from DIRAC import gLogger
from DIRAC.Core.Base.Script import Script

from CTAODIRAC.WorkloadManagementSystem.Client.JobSideUtilities import (
    EXIT_INPUT,
    EXIT_PAYLOAD,
    EXIT_UPLOAD,
    commit_request,
    fail,
    job_id as current_job_id,
    missing_locally,
    set_metadata,
    store_output,
    withdraw_outputs,
)

COMMAND = "dirac-ctao-cwl-run"


@Script()
def main() -> None:
    Script.registerArgument("CONFIG: the job's configuration (written by dirac-ctao-submit-cwl-job)")
    Script.parseCommandLine()
    from DIRAC.ConfigurationSystem.Client.Helpers.Operations import Operations
    from DIRAC.DataManagementSystem.Client.FailoverTransfer import FailoverTransfer
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
    from DIRAC.WorkloadManagementSystem.Client.JobReport import JobReport

    from CTAODIRAC.Core.CWL.jobside import (
        JOB_ORDER,
        OUTPUTS_JSON,
        OutputError,
        catalog_uploads,
        cwltool_command,
        decode_run_config,
        localize_job_order,
        metadata_plan,
        sandbox_copies,
    )
    from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogError, CatalogMetadata

    config = decode_run_config(Script.getPositionalArgs()[0])
    job_id = current_job_id(COMMAND)
    report = JobReport(job_id, COMMAND)
    log = gLogger.getSubLogger(COMMAND)
    ops = Operations()
    runtime = ops.getValue("CTAODIRAC/ContainerRuntime", "none")
    output_se = ops.getValue("CTAODIRAC/OutputSE", "")
    failover_ses = ops.getValue("CTAODIRAC/FailoverSEs", [])

    # 1. inputs
    job_order, local_inputs = localize_job_order(config.job_order)
    missing = missing_locally([config.tool, *local_inputs])
    if missing:
        fail(report, EXIT_INPUT, f"Input files not found locally: {', '.join(missing)}", "Input Data Not Available")
    Path(JOB_ORDER).write_text(json.dumps(job_order, indent=2))

    # 2. cwltool
    try:
        command = cwltool_command(sys.executable, config, runtime)
    except ValueError as exc:  # a CS value this command does not know
        fail(report, EXIT_PAYLOAD, f"Container runtime not usable: {exc}", "Application Finished With Errors")
    log.notice("Running", " ".join(command))
    report.setApplicationStatus("Running cwltool", sendFlag=True)
    sys.stdout.flush()
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True)  # cwltool's messages: our stderr
    Path(OUTPUTS_JSON).write_text(proc.stdout)
    if proc.returncode != 0:
        fail(report, EXIT_PAYLOAD, f"cwltool Exited With Status {proc.returncode}", "Application Finished With Errors")
    try:
        outputs = json.loads(proc.stdout)
        if not isinstance(outputs, dict):
            raise ValueError(f"a {type(outputs).__name__}, not an object")
    except ValueError as exc:
        fail(report, EXIT_PAYLOAD, f"cwltool gave no output document ({exc})", "Application Finished With Errors")
    try:
        uploads = catalog_uploads(config, outputs, output_se)
    except OutputError as exc:
        if exc.stage == "payload":
            fail(report, EXIT_PAYLOAD, f"cwltool: {exc}", "Application Finished With Errors")
        fail(report, EXIT_UPLOAD, f"Failed to upload output data: {exc}", "Uploading Output Data")

    # 3. the output sandbox
    sandbox = []
    for source, destination in sandbox_copies(config, outputs):
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        if Path(source).resolve() != Path(destination).resolve():
            shutil.copyfile(source, destination)
        sandbox.append(destination)

    # 4. catalog outputs
    stored: list[dict] = []
    if uploads:
        report.setJobStatus(minorStatus="Uploading Output Data", sendFlag=True)
        fc = FileCatalogClient()
        catalog = CatalogMetadata(fc)
        failover = FailoverTransfer()
        try:
            fields = catalog.fields()
        except CatalogError as exc:
            fail(report, EXIT_UPLOAD, f"Failed to upload output data: {exc}", "Uploading Output Data")

        def give_up(status: str) -> NoReturn:
            """Fail the job, first withdrawing the outputs it stored (its retry makes them again)."""
            withdraw_outputs([item["lfn"] for item in stored], log)
            fail(report, EXIT_UPLOAD, status, "Uploading Output Data")

        for upload in uploads:
            directory = str(PurePosixPath(upload.lfn).parent)
            exists = fc.exists(upload.lfn)
            if not exists["OK"] or exists["Value"]["Successful"].get(upload.lfn):
                reason = exists.get("Message") or "it is already in the catalog"
                give_up(f"Failed to upload output data: {upload.lfn}: {reason}")
            made = fc.createDirectory(directory)
            held = fc.getDirectoryUserMetadata(directory) if made["OK"] else made
            if not held["OK"]:
                give_up(f"Failed to upload output data: {directory}: {held['Message']}")
            plan = metadata_plan(upload.metadata, fields["directory"], fields["file"], held["Value"])
            if plan.conflicts:
                give_up(f"Output metadata conflict in {directory}: {'; '.join(plan.conflicts)}")
            try:
                if plan.declare_file or plan.declare_directory:
                    catalog.ensure_fields(directory=plan.declare_directory, file=plan.declare_file)
                    fields = catalog.fields()
            except CatalogError as exc:
                give_up(f"Failed to upload output data: {exc}")
            if plan.directory:
                if not set_metadata(fc, directory, plan.directory, log):
                    give_up(f"Failed to upload output data: metadata of {directory} could not be set")
            # a failover copy is registered at once at its failover SE and gets its file metadata there too
            result = store_output(failover, fc, upload.path, upload.lfn, upload.se, failover_ses, plan.file, log)
            if result == "failed":
                give_up(f"Failed to upload output data: {upload.lfn}")
            stored.append({"output": upload.output, "lfn": upload.lfn, "se": upload.se, "status": result,
                           "metadata": upload.metadata})
        if any(item["status"] == "failover" for item in stored):
            request = failover.getRequest()
            request.RequestName = f"cwl_{job_id}"
            request.JobID = job_id
            if not commit_request(failover, job_id, log):
                fail(report, EXIT_UPLOAD, "Failed sending requests", "Failed sending requests")
    Path(OUTPUTS_JSON).write_text(json.dumps({"outputs": outputs, "catalog": stored, "sandbox": sandbox}, indent=2))
    report.setApplicationStatus(f"cwltool successful ({len(stored)} outputs registered)", sendFlag=True)


if __name__ == "__main__":
    main()

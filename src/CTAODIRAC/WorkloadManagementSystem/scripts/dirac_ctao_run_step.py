"""Run one task of a CTAODIRAC production step inside a DIRAC job, then upload, register and report.

Usage (written into each transformation's job by dirac-ctao-submit-production, not typed by hand):

    dirac-ctao-run-step CONFIG

CONFIG is the step configuration (CTAODIRAC.Core.JobSide.StepConfig, base64 JSON). The job's input files
are already in the working directory (DIRAC's input data policy). In order:

1. fetch the step's configuration files and, for apply-models, the model files its query finds;
2. check that the step's program is there in its software setup (else exit 4, MinorStatus "Application not
   found": a software problem of this worker, not the application's), then run the payload, with
   @{run_number}, @{task_id}, @{transformation_id}, @{showers} replaced in its options and the same values in
   its environment (CTAODIRAC_RUN_NUMBER...); a non-zero exit ends the job Failed with
   ApplicationStatus "'<program>' Exited With Status <n>" and the input files untouched (Assigned), for the
   failure agent to act on. Simulation and executable steps collect as outputs the files the payload wrote
   that match the step's output patterns (each pattern must match one at least). A step described in CWL
   (``cwl`` in CONFIG) runs its CommandLineTool with cwltool instead, on job orders binding the task's files,
   models and configuration files to the tool's inputs; its outputs are the files of cwltool's output document;
3. upload and register each output under <output_dir>/<task>/ with its file metadata; an upload that fails
   goes to a failover storage element with a DIRAC request that moves it later;
4. set the input files Processed in the Transformation System: at once when every output is registered, or
   as the last operation of the failover request (so only after its uploads succeed). If an output can be
   neither uploaded nor put in failover, nothing is set: the job fails ("Uploading Output Data").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from DIRAC import gLogger
from DIRAC.Core.Base.Script import Script

from CTAODIRAC.Core.errors import DiracCallError
from CTAODIRAC.Utilities.ReturnValues import value_or_raise
from CTAODIRAC.WorkloadManagementSystem.Client.JobSideUtilities import (
    EXIT_INPUT,
    EXIT_PAYLOAD,
    EXIT_SOFTWARE,
    EXIT_UPLOAD,
    commit_request,
    fail,
    job_id as current_job_id,
    missing_locally,
    store_output,
    withdraw_outputs,
)


def _task_ids(job_id: int) -> tuple[int, int]:
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    name = value_or_raise(JobMonitoringClient().getJobAttribute(job_id, "JobName"), f"the name of job {job_id}")
    if not name:
        raise DiracCallError(f"the name of job {job_id}", "no such job")
    trans, task = name.split("_")  # transformation jobs are named %08d_%08d
    return int(trans), int(task)


def _input_lfns(job_id: int) -> list[str]:
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    lfns = value_or_raise(JobMonitoringClient().getInputData(job_id), f"the input data of job {job_id}")
    return [lfn.removeprefix("LFN:") for lfn in lfns]


def _run_cwl(config, local_inputs: list[str], input_meta: list[dict], models: dict[str, str],
             environment: dict[str, str], log_name: str, report, log) -> list[str]:
    """Run the step's CommandLineTool with cwltool on the task's files (once per job order); the files of its
    outputs. cwltool's messages and the tool's own output go to the step's log; exit 1 when it fails."""
    import json
    import sys

    from DIRAC.ConfigurationSystem.Client.Helpers.Operations import Operations

    from CTAODIRAC.Core.CWL.jobside import CWLRunConfig, cwltool_command
    from CTAODIRAC.Core.CWL.stepjob import TaskBindingError, output_files, task_job_orders

    step = config.cwl
    try:
        orders = task_job_orders(step, local_inputs, input_meta, models)
    except TaskBindingError as exc:
        fail(report, EXIT_PAYLOAD, f"Inputs not bound to the CWL tool: {exc}", "Application Finished With Errors")
    Path(step.tool).write_text(json.dumps(step.document, indent=1))
    runtime = Operations().getValue("CTAODIRAC/ContainerRuntime", "none")
    run_config = CWLRunConfig(tool=step.tool, container_image=step.container_image)
    names = [name for name in environment if name.startswith("CTAODIRAC_") and name != "CTAODIRAC_LOCAL_ROOT"]
    preserve = [word for name in names for word in ("--preserve-environment", name)]
    report.setApplicationStatus(f"Running {config.program} (cwltool)", sendFlag=True)
    outputs: list[str] = []
    with open(log_name, "w") as out:
        for index, order in enumerate(orders):
            order_file = f"cwl-job-order-{index}.json"
            Path(order_file).write_text(json.dumps(order, indent=1))
            try:
                command = cwltool_command(sys.executable, run_config, runtime, outdir=f"cwl-outdir/{index}",
                                          job_order=order_file)
            except ValueError as exc:  # a CS value this command does not know
                fail(report, EXIT_PAYLOAD, f"Container runtime not usable: {exc}", "Application Finished With Errors")
            command = command[:3] + preserve + command[3:]
            # on the worker's software: in the step's software setup (an image comes from the tool, never from it)
            if config.software.kind != "container" and (step.container_image is None or runtime == "none"):
                command = config.software.wrap(command)
            log.notice("Running", " ".join(command))
            out.flush()
            proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=out, text=True, env=environment)
            Path(f"cwl-outputs-{index}.json").write_text(proc.stdout)
            if proc.returncode != 0:
                fail(report, EXIT_PAYLOAD, f"'{config.program}' (cwltool) Exited With Status {proc.returncode}",
                     "Application Finished With Errors")
            try:
                outputs += output_files(json.loads(proc.stdout))
            except (ValueError, AttributeError) as exc:
                fail(report, EXIT_PAYLOAD, f"cwltool gave no output document ({exc})",
                     "Application Finished With Errors")
    names_seen = [Path(path).name for path in outputs]
    twice = sorted({name for name in names_seen if names_seen.count(name) > 1})
    if twice:
        fail(report, EXIT_PAYLOAD, f"the CWL tool wrote two outputs named {', '.join(twice)}",
             "Application Finished With Errors")
    return outputs


@Script()
def main() -> None:
    Script.registerArgument("CONFIG: the step configuration (written by dirac-ctao-submit-production)")
    Script.parseCommandLine()
    from DIRAC.DataManagementSystem.Client.DataManager import DataManager
    from DIRAC.DataManagementSystem.Client.FailoverTransfer import FailoverTransfer
    from DIRAC.RequestManagementSystem.Client.Operation import Operation
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
    from DIRAC.Core.Utilities import DEncode
    from DIRAC.TransformationSystem.Client.FileReport import FileReport
    from DIRAC.WorkloadManagementSystem.Client.JobReport import JobReport

    from CTAODIRAC.Core.JobSide import (
        collect_outputs,
        decode_config,
        file_metadata,
        input_fates,
        job_values,
        output_lfn,
        payload_command,
        task_run_number,
        with_job_values,
    )
    from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata

    config = decode_config(Script.getPositionalArgs()[0])
    job_id = current_job_id("dirac-ctao-run-step")
    report = JobReport(job_id, "dirac-ctao-run-step")
    log = gLogger.getSubLogger("dirac-ctao-run-step")
    trans_id, task_id = _task_ids(job_id)
    lfns = _input_lfns(job_id)
    fc = FileCatalogClient()
    dm = DataManager()

    # 1. inputs, configuration files, models
    local_inputs = [Path(lfn).name for lfn in lfns]
    missing = missing_locally(local_inputs)
    if missing:
        fail(report, EXIT_INPUT, f"Input files not found locally: {', '.join(missing)}", "Input Data Not Available")
    input_meta = []
    for lfn in lfns:
        res = fc.getFileUserMetadata(lfn)
        input_meta.append(res["Value"] if res["OK"] else {})
    particles = {Path(lfn).name: str(meta.get("particle", "")) for lfn, meta in zip(lfns, input_meta)}
    to_fetch = list(config.config)
    if config.cwl is not None:  # a CWL tool's lfn:// File defaults (a YAML step's ``cwl:`` tool) come too
        from CTAODIRAC.Core.CWL.workflow import lfn_files

        to_fetch += [lfn for lfn in lfn_files(config.cwl.config_inputs)[0] if lfn not in to_fetch]
    models: dict[str, str] = {}
    for model_step, query in config.models.items():
        found = CatalogMetadata(fc).find_files(query)
        if not found:
            fail(report, EXIT_INPUT, f"No model file of {model_step} in the catalog", "Input Data Not Available")
        models[model_step] = Path(found[-1]).name
        to_fetch.append(found[-1])
    if to_fetch:
        res = dm.getFile(to_fetch)
        if not res["OK"] or res["Value"]["Failed"]:
            fail(report, EXIT_INPUT, "Failed to download configuration or model files", "Input Data Not Available")

    # 2. the payload
    run_number = task_run_number(input_meta, task_id)
    values = job_values(config, trans_id, task_id, run_number)
    try:
        config = with_job_values(config, values)
    except ValueError as exc:
        fail(report, EXIT_PAYLOAD, f"Bad options: {exc}", "Application Finished With Errors")
    if (problem := config.software.missing(config.program)) is not None:
        fail(report, EXIT_SOFTWARE, f"Software not found: {problem}", "Application not found")
    environment = {**os.environ, **{f"CTAODIRAC_{name.upper()}": value for name, value in values.items()}}
    log_name = f"{config.step}.log"
    if config.cwl is not None:  # a step described in CWL: its CommandLineTool, run by cwltool
        outputs = _run_cwl(config, local_inputs, input_meta, models, environment, log_name, report, log)
    else:
        command, outputs = payload_command(config, local_inputs, models, task_id, particles)
        log.notice("Running", " ".join(command))
        report.setApplicationStatus(f"Running {config.program}", sendFlag=True)
        before = set(os.listdir("."))
        with open(log_name, "w") as out:
            code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, env=environment)
        if code != 0:
            fail(report, EXIT_PAYLOAD, f"'{config.program}' Exited With Status {code}",
                 "Application Finished With Errors")
    if config.outputs and config.cwl is None:
        outputs, unmatched = collect_outputs(config.outputs, before, os.listdir("."), exclude={log_name})
        if unmatched:
            fail(report, EXIT_PAYLOAD, f"'{config.program}' wrote no file matching {', '.join(unmatched)}",
                 "Application Finished With Errors")
    missing = missing_locally(outputs)
    if missing:
        fail(report, EXIT_PAYLOAD, f"'{config.program}' produced no {', '.join(missing)}",
             "Application Finished With Errors")

    # 3. outputs: upload, register, metadata
    report.setJobStatus(minorStatus="Uploading Output Data", sendFlag=True)
    failover = FailoverTransfer()
    registered = in_failover = 0
    written: list[str] = []
    for name in outputs:
        lfn = output_lfn(config, task_id, name)
        meta = file_metadata(config, input_meta, run_number)
        stored = store_output(failover, fc, name, lfn, config.output_se, config.failover_ses, meta, log)
        if stored == "failed":
            break
        written.append(lfn)
        if stored == "registered":
            registered += 1
        else:
            in_failover += 1

    # 4. the inputs' fate
    fate = input_fates(True, len(outputs), registered, in_failover)
    if fate == "Untouched":  # the outputs stored before one failed go too: the retry makes them all again
        withdraw_outputs(written, log)
        fail(report, EXIT_UPLOAD, "Failed to upload output data", "Uploading Output Data")
    file_report = FileReport()
    for lfn in lfns:
        file_report.setFileStatus(trans_id, lfn, "Processed")
    if fate == "Processed" and lfns:
        res = file_report.commit()
        if not res["OK"]:  # the TS is unreachable now: let a request set the statuses later
            fate = "Failover"
    if fate == "Failover":  # the request moves the outputs, then (last) sets the inputs Processed
        request = failover.getRequest()
        request.RequestName = f"{trans_id:08d}_{task_id:08d}_{job_id}"
        request.JobID = job_id
        if lfns:
            op = Operation()
            op.Type = "SetFileStatus"
            op.Arguments = DEncode.encode({"transformation": trans_id, "statusDict": file_report.statusDict,
                                           "force": False})
            request.addOperation(op)
        if not commit_request(failover, job_id, log):
            fail(report, EXIT_UPLOAD, "Failed sending requests", "Failed sending requests")
    done = f"{len(outputs)} outputs" + (f", inputs {fate}" if lfns else ", in failover" if fate == "Failover" else "")
    report.setApplicationStatus(f"{config.program} successful ({done})", sendFlag=True)


if __name__ == "__main__":
    main()

"""Run one task of a CTAODIRAC production step inside a DIRAC job, then upload, register and report.

Usage (written into each transformation's job by dirac-ctao-submit-production, not typed by hand):

    dirac-ctao-run-step CONFIG

CONFIG is the step configuration (CTAODIRAC.Core.JobSide.StepConfig, base64 JSON). The job's input files
are already in the working directory (DIRAC's input data policy). In order:

1. fetch the step's configuration files and, for apply-models, the model files its query finds;
2. run the payload; a non-zero exit ends the job Failed with ApplicationStatus "'<program>' Exited With
   Status <n>" and the input files untouched (Assigned), for the failure agent to act on;
3. upload and register each output under <output_dir>/<task>/ with its file metadata; an upload that fails
   goes to a failover storage element with a DIRAC request that moves it later;
4. set the input files Processed in the Transformation System: at once when every output is registered, or
   as the last operation of the failover request (so only after its uploads succeed). If an output can be
   neither uploaded nor put in failover, nothing is set: the job fails ("Uploading Output Data").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from DIRAC import gLogger
from DIRAC.Core.Base.Script import Script

EXIT_PAYLOAD, EXIT_INPUT, EXIT_UPLOAD = 1, 2, 3


def _task_ids(job_id: int) -> tuple[int, int]:
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    res = JobMonitoringClient().getJobAttribute(job_id, "JobName")
    if not res["OK"] or not res["Value"]:
        raise RuntimeError(f"cannot read the name of job {job_id}: {res.get('Message', 'no such job')}")
    trans, task = res["Value"].split("_")  # transformation jobs are named %08d_%08d
    return int(trans), int(task)


def _input_lfns(job_id: int) -> list[str]:
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    res = JobMonitoringClient().getInputData(job_id)
    if not res["OK"]:
        raise RuntimeError(f"cannot read the job's input data: {res['Message']}")
    return [lfn.removeprefix("LFN:") for lfn in res["Value"]]


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

    from CTAODIRAC.Core.JobSide import decode_config, file_metadata, input_fates, output_lfn, payload_command
    from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata

    config = decode_config(Script.getPositionalArgs()[0])
    job_id = int(os.environ.get("JOBID", "0"))  # set by DIRAC's job wrapper
    if job_id <= 0:
        gLogger.fatal("dirac-ctao-run-step runs inside a DIRAC job (no JOBID in the environment)")
        sys.exit(EXIT_INPUT)
    report = JobReport(job_id, "dirac-ctao-run-step")
    log = gLogger.getSubLogger("dirac-ctao-run-step")
    trans_id, task_id = _task_ids(job_id)
    lfns = _input_lfns(job_id)
    fc = FileCatalogClient()
    dm = DataManager()

    # 1. inputs, configuration files, models
    local_inputs = [Path(lfn).name for lfn in lfns]
    missing = [name for name in local_inputs if not Path(name).exists()]
    if missing:
        report.setApplicationStatus(f"Input files not found locally: {', '.join(missing)}")
        report.setJobStatus(minorStatus="Input Data Not Available", sendFlag=True)
        sys.exit(EXIT_INPUT)
    input_meta = []
    for lfn in lfns:
        res = fc.getFileUserMetadata(lfn)
        input_meta.append(res["Value"] if res["OK"] else {})
    particles = {Path(lfn).name: str(meta.get("particle", "")) for lfn, meta in zip(lfns, input_meta)}
    to_fetch = list(config.config)
    models: dict[str, str] = {}
    for model_step, query in config.models.items():
        found = CatalogMetadata(fc).find_files(query)
        if not found:
            report.setApplicationStatus(f"No model file of {model_step} in the catalog")
            report.setJobStatus(minorStatus="Input Data Not Available", sendFlag=True)
            sys.exit(EXIT_INPUT)
        models[model_step] = Path(found[-1]).name
        to_fetch.append(found[-1])
    if to_fetch:
        res = dm.getFile(to_fetch)
        if not res["OK"] or res["Value"]["Failed"]:
            report.setApplicationStatus("Failed to download configuration or model files")
            report.setJobStatus(minorStatus="Input Data Not Available", sendFlag=True)
            sys.exit(EXIT_INPUT)

    # 2. the payload
    command, outputs = payload_command(config, local_inputs, models, task_id, particles)
    log.notice("Running", " ".join(command))
    report.setApplicationStatus(f"Running {config.program}", sendFlag=True)
    with open(f"{config.step}.log", "w") as out:
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        report.setApplicationStatus(f"'{config.program}' Exited With Status {code}")
        report.setJobStatus(minorStatus="Application Finished With Errors", sendFlag=True)
        sys.exit(EXIT_PAYLOAD)
    missing = [name for name in outputs if not Path(name).exists()]
    if missing:
        report.setApplicationStatus(f"'{config.program}' produced no {', '.join(missing)}")
        report.setJobStatus(minorStatus="Application Finished With Errors", sendFlag=True)
        sys.exit(EXIT_PAYLOAD)

    # 3. outputs: upload, register, metadata
    report.setJobStatus(minorStatus="Uploading Output Data", sendFlag=True)
    failover = FailoverTransfer()
    registered = in_failover = 0
    run_numbers = {int(m["run_number"]) for m in input_meta if "run_number" in m}
    run_number = run_numbers.pop() if len(run_numbers) == 1 else None
    for name in outputs:
        lfn = output_lfn(config, task_id, name)
        meta = file_metadata(config, input_meta, run_number)
        res = failover.transferAndRegisterFile(name, str(Path(name).resolve()), lfn, [config.output_se], {})
        if res["OK"]:
            if meta and not fc.setMetadata(lfn, meta)["OK"]:
                log.error("Could not set the metadata of", lfn)
                break
            registered += 1
            continue
        log.warn("Upload failed, trying failover", f"{lfn}: {res['Message']}")
        if config.failover_ses:
            res = failover.transferAndRegisterFileFailover(
                name, str(Path(name).resolve()), lfn, config.output_se, config.failover_ses, {}
            )
            if res["OK"]:
                in_failover += 1
                continue
        log.error("Output could not be stored", lfn)
        break

    # 4. the inputs' fate
    fate = input_fates(True, len(outputs), registered, in_failover)
    if fate == "Untouched":
        report.setApplicationStatus("Failed to upload output data")
        report.setJobStatus(minorStatus="Uploading Output Data", sendFlag=True)
        sys.exit(EXIT_UPLOAD)
    file_report = FileReport()
    for lfn in lfns:
        file_report.setFileStatus(trans_id, lfn, "Processed")
    if fate == "Processed":
        res = file_report.commit()
        if not res["OK"]:  # the TS is unreachable now: let a request set the statuses later
            fate = "Failover"
    if fate == "Failover":
        op = Operation()
        op.Type = "SetFileStatus"
        op.Arguments = DEncode.encode({"transformation": trans_id, "statusDict": file_report.statusDict,
                                       "force": False})
        request = failover.getRequest()
        request.RequestName = f"{trans_id:08d}_{task_id:08d}_{job_id}"
        request.JobID = job_id
        request.addOperation(op)
        res = failover.commitRequest()
        if not res["OK"]:
            report.setApplicationStatus("Failed sending requests")
            report.setJobStatus(minorStatus="Failed sending requests", sendFlag=True)
            sys.exit(EXIT_UPLOAD)
    report.setApplicationStatus(f"{config.program} successful ({len(outputs)} outputs, inputs {fate})", sendFlag=True)


if __name__ == "__main__":
    main()

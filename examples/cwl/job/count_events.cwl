#!/usr/bin/env cwl-runner
# A tiny job: count the events (lines) of a text file and write a JSON summary.
# Runs anywhere with python3, so it is the CWL file the tests run with cwltool:
#   cwltool --no-container --outdir /tmp/out examples/cwl/job/count_events.cwl examples/cwl/job/count_events.local.yaml
# As a DIRAC job (count_events.grid.yaml): `events` is input data (lfn://), `summary` is uploaded to the
# catalog with its metadata (dirac:Job), the log goes to the output sandbox.
cwlVersion: v1.2
class: CommandLineTool
label: count events
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Job
    cpu_time: 600
    tags: [toy]
    outputs:
      summary:
        lfn: lfn:///ctao/user/t/toy/count_events/
        metadata: {data_level: 3, outputType: Data}
  - class: DockerRequirement
    dockerPull: python:3.11-slim
  - class: SoftwareRequirement
    packages:
      - package: python
        version: ["3.11"]
requirements:
  ResourceRequirement:
    coresMin: 1
    ramMin: 256
baseCommand: [python3, -c]
arguments:
  - position: 0
    valueFrom: |
      import json, sys
      events = [line for line in open(sys.argv[1]) if line.strip() and not line.startswith("#")]
      cuts = float(sys.argv[3]) if len(sys.argv) > 3 else None
      kept = [e for e in events if cuts is None or float(e.split()[1]) >= cuts]
      json.dump({"label": sys.argv[2], "events": len(events), "kept": len(kept)}, open("summary.json", "w"))
      print(f"{sys.argv[2]}: {len(events)} events, {len(kept)} kept")
inputs:
  events:
    type: File
    inputBinding: {position: 1}
  label:
    type: string
    default: toy
    inputBinding: {position: 2}
  min_energy:
    type: float?
    inputBinding: {position: 3}
stdout: count_events.log
outputs:
  summary:
    type: File
    outputBinding: {glob: summary.json}
  log:
    type: stdout

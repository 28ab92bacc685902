#!/usr/bin/env cwl-runner
# ctapipe-process: one DL0 (simtel) file to DL1/DL2 (HDF5).
cwlVersion: v1.2
class: CommandLineTool
label: ctapipe-process
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Step
    kind: ctapipe-process
  - class: SoftwareRequirement
    packages:
      - package: ctapipe
        version: ["0.19.2"]
baseCommand: ctapipe-process
arguments:
  - prefix: --output=
    separate: false
    valueFrom: $(inputs.input_file.nameroot).dl2.h5
  - --write-parameters     # what the YAML campaign's process steps pass (options)
  - --no-write-images
  - --write-showers
  - --no-progress
inputs:
  input_file:
    type: File
    inputBinding: {prefix: --input=, separate: false}
  config:
    type: File?
    inputBinding: {prefix: --config=, separate: false}
outputs:
  dl2:
    type: File
    outputBinding: {glob: $(inputs.input_file.nameroot).dl2.h5}

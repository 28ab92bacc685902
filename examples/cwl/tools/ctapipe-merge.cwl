#!/usr/bin/env cwl-runner
# ctapipe-merge: merge HDF5 files (DL1/DL2) into one.
cwlVersion: v1.2
class: CommandLineTool
label: ctapipe-merge
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Step
    kind: ctapipe-merge
  - class: SoftwareRequirement
    packages:
      - package: ctapipe
        version: ["0.19.2"]
baseCommand: ctapipe-merge
inputs:
  input_files:
    type: File[]
    inputBinding: {position: 1}
  output_name:
    type: string
    default: merged.dl2.h5
    inputBinding: {prefix: --output=, separate: false}
outputs:
  merged:
    type: File
    outputBinding: {glob: $(inputs.output_name)}

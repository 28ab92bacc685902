#!/usr/bin/env cwl-runner
# ctapipe-apply-models: apply trained models (energy, classifier) to DL2.
cwlVersion: v1.2
class: CommandLineTool
label: ctapipe-apply-models
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Step
    kind: ctapipe-apply-models
  - class: SoftwareRequirement
    packages:
      - package: ctapipe
        version: ["0.19.2"]
baseCommand: ctapipe-apply-models
arguments:
  - prefix: --output=
    separate: false
    valueFrom: $(inputs.input_file.nameroot).applied.h5
inputs:
  input_file:
    type: File
    inputBinding: {prefix: --input=, separate: false}
  models:
    type:
      type: array
      items: File
      inputBinding: {prefix: --reconstructor=, separate: false}
outputs:
  dl2:
    type: File
    outputBinding: {glob: $(inputs.input_file.nameroot).applied.h5}

#!/usr/bin/env cwl-runner
# ctapipe-train-particle-classifier: train the gamma/hadron model on signal and background DL2.
cwlVersion: v1.2
class: CommandLineTool
label: ctapipe-train-particle-classifier
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Step
    kind: ctapipe-train-classifier
  - class: SoftwareRequirement
    packages:
      - package: ctapipe
        version: ["0.19.2"]
baseCommand: ctapipe-train-particle-classifier
inputs:
  signal:
    type: File
    inputBinding: {prefix: --signal=, separate: false}
  background:
    type: File
    inputBinding: {prefix: --background=, separate: false}
  config:
    type: File?
    inputBinding: {prefix: --config=, separate: false}
  output_name:
    type: string
    default: particle_classifier.pkl
    inputBinding: {prefix: --output=, separate: false}
outputs:
  model:
    type: File
    outputBinding: {glob: $(inputs.output_name)}

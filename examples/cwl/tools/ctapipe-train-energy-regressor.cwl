#!/usr/bin/env cwl-runner
# ctapipe-train-energy-regressor: train the energy model on (gamma) DL2.
cwlVersion: v1.2
class: CommandLineTool
label: ctapipe-train-energy-regressor
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Step
    kind: ctapipe-train-energy
  - class: SoftwareRequirement
    packages:
      - package: ctapipe
        version: ["0.19.2"]
baseCommand: ctapipe-train-energy-regressor
inputs:
  input_file:
    type: File
    inputBinding: {prefix: --input=, separate: false}
  config:
    type: File?
    inputBinding: {prefix: --config=, separate: false}
  output_name:
    type: string
    default: energy_regressor.pkl
    inputBinding: {prefix: --output=, separate: false}
outputs:
  model:
    type: File
    outputBinding: {glob: $(inputs.output_name)}

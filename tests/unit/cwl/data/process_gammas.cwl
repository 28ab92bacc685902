# A single CommandLineTool submitted as one transformation: its dirac:Production hint names the query of its input.
cwlVersion: v1.2
class: CommandLineTool
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Production
    production: gammas-dl2
    inputs:
      input_file:
        query: {MCCampaign: Prod6, site: LaPalma, particle: gamma, data_level: 0, outputType: Data}
  - class: dirac:Step
    kind: ctapipe-process
    version: v0.32.0
    group_size: 1
baseCommand: ctapipe-process
arguments:
  - prefix: --output=
    separate: false
    valueFrom: $(inputs.input_file.nameroot).dl2.h5
inputs:
  input_file:
    type: File
    inputBinding: {prefix: --input=, separate: false}
  config:
    type: File
    default: {class: File, location: "lfn:///ctao/config/ctapipe/prod6_process.yaml"}
    inputBinding: {prefix: --config=, separate: false}
outputs:
  dl2:
    type: File
    outputBinding: {glob: $(inputs.input_file.nameroot).dl2.h5}

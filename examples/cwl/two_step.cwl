#!/usr/bin/env cwl-runner
# examples/two_step.yaml in CWL: ctapipe-process then ctapipe-merge of South-pointing proton DL0,
# limited to 10 input files (a test). Same plan as the YAML file.
#   Dry run:   dirac-ctao-submit-production examples/cwl/two_step.cwl
#   Local run: cwltool examples/cwl/two_step.cwl examples/cwl/two_step.local.yaml   (needs ctapipe; docs/cwl.md)
cwlVersion: v1.2
class: Workflow
$namespaces:
  dirac: https://ctao.org/dirac/cwl#

requirements:
  ScatterFeatureRequirement: {}

hints:
  - class: dirac:Production
    production: south-protons-test
    description: process and merge 10 South proton files
    inputs:
      south-protons:
        query:
          MCCampaign: Prod6
          site: Paranal
          array_layout: Alpha
          particle: proton
          phiP: 0            # South; stored as {"=": 0} so that DIRAC keeps it
          thetaP: 20.0
          nsb: [1, 5]
          data_level: 0
          outputType: Data
    defaults:
      version: v0.19.2
      sites: [LCG.DESY-ZEUTHEN.de, LCG.CNAF.it]
      tags: [ctapipe]

inputs:
  south-protons: File[]
  process_config:
    type: File
    default: {class: File, location: "lfn:///ctao/config/ctapipe/prod6_process.yaml"}

outputs:
  merged: {type: File, outputSource: merge/merged}

steps:
  process:
    run: tools/ctapipe-process.cwl
    scatter: input_file
    in: {input_file: south-protons, config: process_config}
    out: [dl2]
    hints:
      - class: dirac:Step
        description: DL0 to DL2
        group_size: 2
        input_limit: 10
        cpu_time: 3600
      - class: ResourceRequirement     # becomes the job's number of processors
        coresMin: 2

  merge:
    run: tools/ctapipe-merge.cwl
    in: {input_files: process/dl2}
    out: [merged]
    hints:
      - class: dirac:Step
        group_size: 5
        plugin: Standard
        output: {comment: test}

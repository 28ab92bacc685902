#!/usr/bin/env cwl-runner
# The CTAO ctapipe chain of examples/ctapipe_campaign.yaml in CWL: 29 transformations in 5 productions.
#   dl0-to-dl2      process + intermediate merge of each of the 7 samples   (14)
#   final-merge     merge of each sample into one file                      (7)
#   energy          train the energy regressor; apply it to the 2 classifier-training sets (3)
#   classifier      train the particle classifier on those two              (1)
#   dl2-performance apply both models to the 4 performance samples          (4)
# Each step runs a tool of tools/; `foreach` repeats a step once per sample on the DIRAC side
# (cwltool runs each step once). Dry run: dirac-ctao-submit-production examples/cwl/ctapipe_campaign.cwl
cwlVersion: v1.2
class: Workflow
label: ctapipe chain on simulated La Palma data
$namespaces:
  dirac: https://ctao.org/dirac/cwl#

requirements:
  ScatterFeatureRequirement: {}
  MultipleInputFeatureRequirement: {}

hints:
  - class: dirac:Production
    production: dl0-to-dl2
    inputs:
      dl0:
        description: simulated DL0 of the Alpha layout at La Palma, North pointing, 20 deg zenith
        query:
          MCCampaign: Prod6
          site: LaPalma
          array_layout: Alpha
          phiP: 180
          thetaP: 20.0
          data_level: 0
          outputType: Data
    matrix:
      sample:
        - {sample: gamma-diffuse-energy, particle: gamma-diffuse, split: energy-training}
        - {sample: gamma-diffuse-classifier, particle: gamma-diffuse, split: classifier-training}
        - {sample: gamma-diffuse-performance, particle: gamma-diffuse, split: performance}
        - {sample: proton-classifier, particle: proton, split: classifier-training}
        - {sample: proton-performance, particle: proton, split: performance}
        - {sample: gamma-performance, particle: gamma, split: performance}
        - {sample: electron-performance, particle: electron, split: performance}
    defaults:
      version: v0.19.2
      cpu_time: 7200
      tags: [ctapipe]
      output:
        configuration_id: 15

inputs:
  dl0: File[]
  process_config:
    type: File
    default: {class: File, location: "lfn:///ctao/config/ctapipe/prod6_process.yaml"}
  energy_config:
    type: File
    default: {class: File, location: "lfn:///ctao/config/ctapipe/train_energy_regressor.yaml"}
  classifier_config:
    type: File
    default: {class: File, location: "lfn:///ctao/config/ctapipe/train_particle_classifier.yaml"}

outputs:
  energy_model: {type: File, outputSource: train-energy/model}
  classifier_model: {type: File, outputSource: train-classifier/model}
  performance_dl2: {type: File, outputSource: apply-models/dl2}

steps:
  process:
    run: tools/ctapipe-process.cwl
    scatter: input_file
    in: {input_file: dl0, config: process_config}
    out: [dl2]
    hints:
      - class: dirac:Step
        transformation: process-$sample
        foreach: sample
        where: {particle: $particle, split: $split}
        group_size: 5

  merge1:
    run: tools/ctapipe-merge.cwl
    in: {input_files: process/dl2}
    out: [merged]
    hints:
      - {class: dirac:Step, transformation: merge1-$sample, foreach: sample, group_size: 20}

  merge2:
    run: tools/ctapipe-merge.cwl
    in:
      input_files: {source: [merge1/merged], linkMerge: merge_flattened}
    out: [merged]
    hints:
      - class: dirac:Step
        transformation: merge2-$sample
        production: final-merge
        foreach: sample
        group_size: 500          # large enough for every intermediate file; Flush the rest

  train-energy:
    run: tools/ctapipe-train-energy-regressor.cwl
    in: {input_file: merge2/merged, config: energy_config}
    out: [model]
    hints:
      - class: dirac:Step
        production: energy
        select: {input_file: {sample: gamma-diffuse-energy}}
        cpu_time: 86400
        processors: 8

  apply-energy:
    run: tools/ctapipe-apply-models.cwl
    in:
      input_file: merge2/merged
      models: {source: [train-energy/model], linkMerge: merge_flattened}
    out: [dl2]
    hints:
      - class: dirac:Step
        transformation: apply-energy-$sample
        production: energy
        foreach: sample
        only: {split: classifier-training}

  train-classifier:
    run: tools/ctapipe-train-particle-classifier.cwl
    in:
      signal: apply-energy/dl2
      background: apply-energy/dl2
      config: classifier_config
    out: [model]
    hints:
      - class: dirac:Step
        production: classifier
        select:
          signal: {sample: gamma-diffuse-classifier}
          background: {sample: proton-classifier}
        cpu_time: 86400
        processors: 8

  apply-models:
    run: tools/ctapipe-apply-models.cwl
    in:
      input_file: merge2/merged
      models: [train-energy/model, train-classifier/model]
    out: [dl2]
    hints:
      - class: dirac:Step
        transformation: apply-models-$sample
        production: dl2-performance
        foreach: sample
        only: {split: performance}

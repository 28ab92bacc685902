# Writes a message to a file (step 1 of count_words.cwl).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement: {coresMin: 1, ramMin: 128}
baseCommand: echo
inputs:
  message: {type: string, inputBinding: {position: 1}}
outputs:
  text: stdout
stdout: message.txt

# Counts the words of a file (step 2 of count_words.cwl).
cwlVersion: v1.2
class: CommandLineTool
hints:
  ResourceRequirement: {coresMin: 2, ramMin: 64}
baseCommand: [wc, -w]
inputs:
  text: {type: File, inputBinding: {position: 1}}
  extra: {type: "File?", inputBinding: {position: 2}}
outputs:
  count: stdout
stdout: count.txt

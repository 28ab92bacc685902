# A two-step workflow (echo, then wc) submitted as ONE DIRAC job by dirac-ctao-submit-cwl-job:
# the tools are other files, so the job ships the workflow packed (cwltool --pack).
cwlVersion: v1.2
class: Workflow
$namespaces:
  dirac: https://ctao.org/dirac/cwl#
hints:
  - class: dirac:Job
    job_name: count-words
    cpu_time: 300
    outputs:
      count: {lfn: lfn:///ctao/user/t/toy/count_words/, metadata: {data_level: 3}}
  - class: dirac:Production
    production: ignored-for-one-job
inputs:
  message: string
  extra: File?
outputs:
  count: {type: File, outputSource: words/count}
  text: {type: File, outputSource: say/text}
steps:
  say:
    run: echo.cwl
    in: {message: message}
    out: [text]
  words:
    run: wc.cwl
    in: {text: say/text, extra: extra}
    out: [count]

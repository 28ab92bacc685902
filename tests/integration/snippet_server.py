"""Runs the integration tests' DIRAC snippets in processes forked from one that has imported DIRAC once.

A snippet run as ``python -c`` spends ~0.8 s of CPU before its first line: the interpreter, then DIRAC's imports in
``Script.parseCommandLine`` (0.36 s of it DiracX's client, imported by DIRAC's security modules). This server
imports those modules once, **without initialising DIRAC** (no thread, no configuration read: nothing a fork could
share or break), then forks a child per snippet: the child takes the snippet's environment (the user's proxy), its
arguments and working directory, initialises DIRAC itself and runs the snippet, as a fresh ``python -c`` would, in
~0.05 s of CPU.

Protocol, one JSON object per line: the server reads ``{"script", "argv", "env", "cwd", "timeout"}`` on stdin and
answers ``{"code", "stdout", "stderr", "timed_out"}`` on stdout (``timed_out`` when the snippet ran past its
timeout and was killed). Started by ``conftest.Dirac`` with the instance's environment; it ends when its stdin closes.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
import traceback


def _child(request: dict, out: int, err: int, channel: int) -> None:
    """In the forked child: become the snippet's process and run it; never returns."""
    code = 0
    try:
        os.close(channel)
        os.setpgrp()  # the snippet and whatever it starts can be killed together
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["-c", *request["argv"]]
        exec(compile(request["script"], "<snippet>", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)  # as python -c prints sys.exit("message")
    except BaseException:  # noqa: BLE001 - reported as python -c would, on stderr with exit code 1
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _run(request: dict, channel: int) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            _child(request, out.fileno(), err.fileno(), channel)
        deadline = time.monotonic() + float(request.get("timeout", 300))
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                timed_out = True
                break
            time.sleep(0.01)
        texts = []
        for handle in (out, err):
            handle.seek(0)
            texts.append(handle.read().decode(errors="replace"))
    return {"code": code, "stdout": texts[0], "stderr": texts[1], "timed_out": timed_out}


def main() -> None:
    # DIRAC's modules that a snippet's Script.parseCommandLine and the usual clients import; imported, not initialised
    from DIRAC.Core.Base.Script import Script  # noqa: F401
    import DIRAC.ConfigurationSystem.Client.Helpers.Operations  # noqa: F401
    import DIRAC.Core.Security.ProxyInfo  # noqa: F401
    import DIRAC.TransformationSystem.Client.TransformationClient  # noqa: F401

    channel = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing else may write on the answers' channel
    print(json.dumps({"ready": os.getpid()}), file=channel, flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_run(json.loads(line), channel.fileno())), file=channel, flush=True)


if __name__ == "__main__":
    main()

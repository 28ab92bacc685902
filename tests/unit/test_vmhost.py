"""The VM host's pure parts: the runsvstat/runsvctrl scripts DIRAC's ComponentInstaller runs (over a stand-in
``sv``), the bashrc and the install.cfg (docs/operations.md)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from CTAODIRAC.LocalDIRAC import vmhost

#: What Debian's sv prints, and the line DIRAC's ComponentInstaller.getStartupComponentStatus must read from it.
SV_LINES = {
    "run: /vm/startup/A_B: (pid 4242) 17s; run: log: (pid 4241) 17s": ("Run", "4242", "17"),
    "down: /vm/startup/A_B: 5s, normally up; run: log: (pid 4241) 30s": ("Down", "0", "5"),
    "fail: /vm/startup/A_B: runsv not running": ("NoRunitControl", "0", "0"),
}


def _fake_sv(tmp_path: Path, output: str) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "sv").write_text(f"#!/bin/bash\necho '{output}'\necho \"$@\" >> {tmp_path / 'calls'}\n")
    (bindir / "sv").chmod(0o755)
    return {"PATH": f"{bindir}:/usr/bin:/bin"}


def _dirac_parse(line: str) -> tuple[str, str, str]:
    """DIRAC 9.1's parsing of one runsvstat line (ComponentInstaller.getStartupComponentStatus)."""
    _, routput = line.split(":")  # DIRAC splits on ':' and needs exactly two parts
    pid = re.search("pid ([0-9]+)", routput)
    seconds = re.search("([0-9]+) seconds", routput)
    status = "Unknown"
    if re.search("^ run", routput):
        status = "Run"
    if re.search("^ down", routput):
        status = "Down"
    if re.search("runsv not running", routput) or not re.search("^ (run|down)", routput):
        status = "NoRunitControl"
    return status, pid.group(1) if pid else "0", seconds.group(1) if seconds else "0"


@pytest.mark.parametrize("sv_line", SV_LINES)
def test_runsvstat_prints_what_dirac_parses(tmp_path, sv_line):
    script = tmp_path / "runsvstat"
    script.write_text(vmhost.RUNSVSTAT)
    out = subprocess.run(["bash", str(script), "/vm/startup/A_B"], env=_fake_sv(tmp_path, sv_line),
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith("/vm/startup/A_B: ")
    assert _dirac_parse(out) == SV_LINES[sv_line]


def test_runsvctrl_sends_the_control_character_to_each_service(tmp_path):
    script = tmp_path / "runsvctrl"
    script.write_text(vmhost.RUNSVCTRL)
    subprocess.run(["bash", str(script), "t", "/vm/startup/A_B", "/vm/startup/C_D"],
                   env=_fake_sv(tmp_path, "ok: run: x"), check=True)
    assert (tmp_path / "calls").read_text().splitlines() == ["t /vm/startup/A_B", "t /vm/startup/C_D"]


def test_bashrc_points_dirac_at_the_host_directory():
    text = vmhost.bashrc(Path("/opt/dirac"))
    assert "export DIRAC_ROOT_PATH=/opt/dirac" in text
    assert "export PATH=/opt/dirac/pro/bin:/opt/dirac/bin:" in text
    assert "export X509_CERT_DIR=/opt/dirac/etc/grid-security/certificates" in text
    assert "unset REQUESTS_CA_BUNDLE" in text

"""Certificates of a local DIRAC instance, made with the ``openssl`` command as DIRAC's own CI does.

A CA (with its hash link in ``etc/grid-security/certificates``), a host certificate whose CN is the
hostname (SAN: hostname, ``localhost``, ``127.0.0.1``), and one certificate per user of
:data:`~CTAODIRAC.LocalDIRAC.instance.USERS`. Existing files are kept: re-running makes nothing new.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .instance import USERS, Instance

DN_BASE = "/C=ch/O=CTAO/OU=Local"
DAYS = 3650


def user_dn(name: str) -> str:
    return f"{DN_BASE}/CN={name}"


def host_dn(hostname: str) -> str:
    return f"{DN_BASE}/CN={hostname}"


def _openssl(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    return proc.stdout


def _sign(inst: Instance, csr: Path, cert: Path, extfile: Path) -> None:
    ca = inst.ca_dir
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca / "ca.pem"), "-CAkey", str(inst.root / "ca" / "ca.key"),
        "-CAcreateserial", "-out", str(cert), "-days", str(DAYS), "-sha256", "-extfile", str(extfile),
    )  # fmt: skip


def _key_and_csr(key: Path, csr: Path, subject: str) -> None:
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", subject)
    key.chmod(0o400)


def issue_host_certificate(inst: Instance, directory: Path, cn: str, dns_names: list[str]) -> Path:
    """A host certificate (``hostcert.pem``, ``hostkey.pem`` in ``directory``) of another host, signed by the
    instance's CA: DN ``host_dn(cn)``, SAN ``cn``, ``dns_names`` and 127.0.0.1 (e.g. a VM's, docs/operations.md)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert = directory / "hostcert.pem"
    ext = directory / "host.ext"
    names = ",".join(f"DNS:{name}" for name in dict.fromkeys([cn, *dns_names]))
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={names},IP:127.0.0.1\n"
    )
    csr = directory / "host.csr"
    _key_and_csr(directory / "hostkey.pem", csr, host_dn(cn))
    _sign(inst, csr, cert, ext)
    csr.unlink()
    ext.unlink()
    return cert


def ensure_certificates(inst: Instance, hostname: str) -> list[str]:
    """Make whatever certificate is missing; return what was made."""
    made: list[str] = []
    ca_key_dir = inst.root / "ca"
    ca_key_dir.mkdir(parents=True, exist_ok=True)
    inst.ca_dir.mkdir(parents=True, exist_ok=True)
    ca_cert = inst.ca_dir / "ca.pem"
    ca_key = ca_key_dir / "ca.key"
    if not ca_cert.is_file():
        _openssl(
            "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_cert),
            "-days", str(DAYS), "-sha256", "-subj", f"{DN_BASE}/CN=CTAODIRAC Local CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        ca_key.chmod(0o400)
        made.append("CA")
    subject_hash = _openssl("x509", "-in", str(ca_cert), "-noout", "-subject_hash").strip()
    link = inst.ca_dir / f"{subject_hash}.0"
    if not link.exists():
        link.symlink_to("ca.pem")

    inst.grid_security.mkdir(parents=True, exist_ok=True)
    hostcert = inst.grid_security / "hostcert.pem"
    if not hostcert.is_file():
        hostkey = inst.grid_security / "hostkey.pem"
        csr = ca_key_dir / "host.csr"
        ext = ca_key_dir / "host.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
            f"subjectAltName=DNS:{hostname},DNS:localhost,IP:127.0.0.1\n"
        )
        _key_and_csr(hostkey, csr, host_dn(hostname))
        _sign(inst, csr, hostcert, ext)
        made.append(f"host certificate ({hostname})")

    for user in USERS:
        udir = inst.user_dir(user.name)
        udir.mkdir(parents=True, exist_ok=True)
        cert = udir / "usercert.pem"
        if cert.is_file():
            continue
        ext = ca_key_dir / "user.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=clientAuth\n"
        )
        csr = ca_key_dir / f"{user.name}.csr"
        _key_and_csr(udir / "userkey.pem", csr, user_dn(user.name))
        _sign(inst, csr, cert, ext)
        made.append(f"user certificate ({user.name})")
    return made

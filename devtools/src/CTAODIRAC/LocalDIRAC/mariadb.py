"""The local instance's own MariaDB server (Debian's ``mariadb-server`` binaries, a private data directory).

A private server keeps every byte of the instance under its root and lets ``down`` stop exactly what
``up`` started; it listens on 127.0.0.1 only (port in ``instance.json``, default 13306). The root
account is reached through the private socket (unix_socket authentication); DIRAC connects over TCP as
the ``Dirac`` user with the password made for the instance.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
import time
from importlib.util import find_spec
from pathlib import Path

from .instance import SELF_CREATING_DATABASES, SQL_DATABASES, Identity, Instance
from .processes import Process, is_running, start_process

MYSQL_KEY = "MariaDB"


def _binary(*names: str) -> str:
    for name in names:
        path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
        if path:
            return path
    raise RuntimeError(f"none of {', '.join(names)} found: install the Debian package mariadb-server (make install)")


def _client(inst: Instance, *args: str, sql: str | None = None, stdin: Path | None = None) -> str:
    cmd = [_binary("mariadb", "mysql"), "--no-defaults", f"--socket={inst.mysql_socket}", "-uroot", "-N", "-B", *args]
    if sql is not None:
        cmd += ["-e", sql]
    with open(stdin, "rb") if stdin else open("/dev/null", "rb") as fin:
        proc = subprocess.run(cmd, stdin=fin, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"MariaDB: {proc.stderr.decode(errors='replace').strip()} (running {' '.join(args) or sql})")
    return proc.stdout.decode()


def ping(inst: Instance) -> bool:
    if not inst.mysql_socket.exists():
        return False
    proc = subprocess.run(
        [_binary("mariadb-admin", "mysqladmin"), "--no-defaults", f"--socket={inst.mysql_socket}", "-uroot", "ping"],
        capture_output=True,
    )
    return proc.returncode == 0


def ensure_running(inst: Instance, ident: Identity) -> str:
    """Initialise the data directory on first use and start the server if it is not running."""
    proc = Process(inst, MYSQL_KEY)
    if is_running(proc) and ping(inst):
        return "running"
    user = getpass.getuser()
    made = ""
    # the server's temporary files in a directory of the instance: mariadb-install-db runs of two instances made at
    # once in the shared /tmp failed one time in three here ("Could not remove temporary table", "Unknown table
    # 'mysql.tmp_user_sys'"), e.g. the local DIRACs of two pytest-xdist workers
    tmpdir = inst.root / "mysql-tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    if not (inst.mysql_dir / "mysql").is_dir():
        inst.mysql_dir.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            [
                _binary("mariadb-install-db", "mysql_install_db"), "--no-defaults", f"--datadir={inst.mysql_dir}",
                f"--tmpdir={tmpdir}", f"--user={user}", "--auth-root-authentication-method=socket",
                f"--auth-root-socket-user={user}", "--skip-test-db",
            ],  # fmt: skip
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {out.stderr.strip() or out.stdout.strip()}")
        made = "initialised, "
    inst.run.mkdir(parents=True, exist_ok=True)
    inst.logs.mkdir(parents=True, exist_ok=True)
    start_process(
        inst,
        MYSQL_KEY,
        [
            _binary("mariadbd", "mysqld"), "--no-defaults", f"--datadir={inst.mysql_dir}", f"--tmpdir={tmpdir}",
            f"--socket={inst.mysql_socket}", f"--port={ident.mysql_port}", "--bind-address=127.0.0.1",
            f"--user={user}", "--skip-name-resolve", "--max-connections=1000", "--innodb-buffer-pool-size=256M",
            "--innodb-flush-log-at-trx-commit=2", "--character-set-server=utf8mb4", f"--log-error={inst.log(MYSQL_KEY)}",
        ],  # fmt: skip
        env=None,
    )
    deadline = time.monotonic() + 60
    while not ping(inst):
        if not is_running(proc):
            raise RuntimeError(f"MariaDB did not start: see {inst.log(MYSQL_KEY)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"MariaDB did not answer within 60 s: see {inst.log(MYSQL_KEY)}")
        time.sleep(0.2)
    return made + "started"


def _dirac_sql_file(system: str, db: str) -> Path:
    spec = find_spec("DIRAC")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("DIRAC is not installed in this environment (make install)")
    return Path(list(spec.submodule_search_locations)[0]) / f"{system}System" / "DB" / f"{db}.sql"


def ensure_databases(inst: Instance, ident: Identity, extra_sql: dict[str, Path] | None = None) -> list[str]:
    """Create the DIRAC user and the databases that do not exist yet; return the databases created."""
    pw = ident.mysql_password.replace("'", "")
    _client(
        inst,
        sql=(
            f"CREATE USER IF NOT EXISTS '{ident.mysql_user}'@'127.0.0.1' IDENTIFIED BY '{pw}';"
            f"CREATE USER IF NOT EXISTS '{ident.mysql_user}'@'localhost' IDENTIFIED BY '{pw}';"
            f"GRANT ALL PRIVILEGES ON *.* TO '{ident.mysql_user}'@'127.0.0.1';"
            f"GRANT ALL PRIVILEGES ON *.* TO '{ident.mysql_user}'@'localhost';"
        ),
    )
    existing = set(_client(inst, sql="SHOW DATABASES").split())
    created = []
    schemas: dict[str, Path | None] = {db: _dirac_sql_file(system, db) for system, db in SQL_DATABASES}
    schemas.update({db: None for _, db in SELF_CREATING_DATABASES})
    schemas.update(extra_sql or {})
    for db, sql_file in schemas.items():
        if db in existing:
            continue
        # A schema that fails to load is dropped again, so a later run never takes a half-made DB for complete.
        _client(inst, sql=f"CREATE DATABASE `{db}`")
        try:
            if sql_file is not None:
                _client(inst, db, stdin=sql_file)
        except Exception:
            _client(inst, sql=f"DROP DATABASE `{db}`")
            raise
        created.append(db)
    return created

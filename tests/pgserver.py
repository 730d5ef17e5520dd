"""A throw-away PostgreSQL server for the tests that prove the feature stores are portable.

Debian's postgresql package (``scripts/setup.sh --dev`` installs it) puts initdb under
/usr/lib/postgresql/<version>/bin. The server listens on a Unix socket only and is removed
after the session. Under CI=true a missing PostgreSQL fails the tests instead of skipping them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; run them as the postgres user then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--"] + cmd


@pytest.fixture(scope="session")
def postgres_url():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        msg = "PostgreSQL is not installed (bash scripts/setup.sh --dev installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    root = Path(tempfile.mkdtemp(prefix="shegong-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-A", "trust", "-U", "shegong", "-E", "UTF8",
                                 "--locale=C.UTF-8"]), check=True, capture_output=True)
    port = "5439"
    opts = f"-k {root} -c listen_addresses='' -p {port}"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://shegong@/postgres?host={root}&port={port}"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

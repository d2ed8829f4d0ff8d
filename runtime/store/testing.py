"""Test support: a throwaway PostgreSQL cluster on a Unix socket, for tests and benchmarks.

``TemporaryPostgres`` runs ``initdb`` and ``pg_ctl start`` from the machine's PostgreSQL
binaries (found with ``find_postgres_bindir``) in a fresh temporary folder, listening on a
Unix socket in that folder only (no TCP), and removes everything on ``stop``. PostgreSQL
refuses to run as root, so under root the server runs as the ``postgres`` system user
(through ``runuser`` or ``su``) and the folder is handed to that user.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

__all__ = ["PostgresUnavailableError", "TemporaryPostgres", "find_postgres_bindir"]

_FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot be started here; the message says what is missing (tests skip)."""


def find_postgres_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None.

    Looks at ``$PG_BINDIR``, then ``pg_config --bindir``, then ``/usr/lib/postgresql/*/bin``
    (newest first), then ``initdb`` on ``PATH``.
    """
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


class TemporaryPostgres:
    """A PostgreSQL cluster in a temporary folder, reachable only through a Unix socket.

    Args:
        bindir: the binaries' folder (default: ``find_postgres_bindir()``).
        fast: turn off fsync and synchronous commit (tests: the server is never killed);
            False keeps PostgreSQL's durable defaults (benchmarks).
        settings: more ``postgresql.conf`` settings.

    Use ``with TemporaryPostgres() as pg:`` or ``start()``/``stop()``. ``start`` blocks
    until the server accepts connections (about a second).

    Raises:
        PostgresUnavailableError: from ``start``, when binaries, the ``postgres`` user (under
            root) or a way to switch to it are missing, or the server does not start.
    """

    def __init__(
        self,
        *,
        bindir: Path | None = None,
        fast: bool = True,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self._bindir = bindir
        self._settings = {**(_FAST if fast else {}), **(settings or {})}
        self._dir: Path | None = None
        self._runner: list[str] = []
        self.user = "postgres"

    @property
    def socket_dir(self) -> Path:
        """The folder of the server's socket (and of its data)."""
        if self._dir is None:
            raise RuntimeError("the cluster is not started")
        return self._dir

    def conninfo(self, dbname: str = "postgres", *, search_path: str | None = None) -> str:
        """A ``postgresql://`` URL for ``dbname`` (optionally with a ``search_path``)."""
        url = f"postgresql://{self.user}@/{dbname}?host={quote(str(self.socket_dir))}"
        if search_path is not None:
            url += "&options=" + quote(f"-c search_path={search_path}")
        return url

    def _as_server_user(self, argv: Sequence[str]) -> list[str]:
        if not self._runner:
            return list(argv)
        if self._runner[0] == "runuser":
            return [*self._runner, *argv]
        return [*self._runner, shlex.join(argv)]  # su -c takes one shell command

    def _run(self, argv: Sequence[str], what: str) -> None:
        proc = subprocess.run(
            self._as_server_user(argv), capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode != 0:
            log = ""
            if self._dir is not None and (self._dir / "server.log").exists():
                log = (self._dir / "server.log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailableError(
                f"{what} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
                + (f"\nserver log:\n{log}" if log else "")
            )

    def start(self) -> None:
        """Create the cluster and start the server (see the class docstring)."""
        bindir = self._bindir or find_postgres_bindir()
        if bindir is None:
            raise PostgresUnavailableError(
                "no PostgreSQL binaries (initdb, pg_ctl): set PG_BINDIR or install postgresql"
            )
        uid = gid = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailableError(
                    "running as root and there is no 'postgres' user to run the server as"
                ) from None
            uid, gid = entry.pw_uid, entry.pw_gid
            if shutil.which("runuser"):
                self._runner = ["runuser", "-u", "postgres", "--"]
            elif shutil.which("su"):
                self._runner = ["su", "postgres", "-s", "/bin/sh", "-c"]
            else:
                raise PostgresUnavailableError("running as root without runuser or su")
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        folder = Path(tempfile.mkdtemp(prefix="arborist-pg-"))
        self._dir = folder
        try:
            if uid is not None and gid is not None:
                os.chown(folder, uid, gid)
            data = folder / "data"
            self._run(
                [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", self.user,
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                "initdb",
            )  # fmt: skip
            conf = {
                "listen_addresses": "''",
                "unix_socket_directories": f"'{folder}'",
                "max_connections": "50",
                **self._settings,
            }
            with open(data / "postgresql.conf", "a", encoding="utf-8") as f:
                f.writelines(f"{key} = {value}\n" for key, value in conf.items())
            self._run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
                 "-w", "-t", "60", "start"],
                "pg_ctl start",
            )  # fmt: skip
            self._bindir = bindir
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            self._dir = None
            raise

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m immediate``) and delete its folder."""
        folder, self._dir = self._dir, None
        if folder is None:
            return
        try:
            assert self._bindir is not None
            subprocess.run(
                self._as_server_user(
                    [str(self._bindir / "pg_ctl"), "-D", str(folder / "data"), "-m",
                     "immediate", "-w", "stop"]
                ),
                capture_output=True,
                timeout=60,
                check=False,
            )  # fmt: skip
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""A throwaway PostgreSQL cluster on loopback for integration tests
(Python 3 standard library only).

    from pg import Postgres
    with Postgres() as pg:
        pg.psql("CREATE TABLE t(a int)")
        dsn = pg.dsn            # postgresql://actiond@127.0.0.1:PORT/actiond_test
        pg.password             # the role's password (SCRAM), for config.password

- Binaries: /usr/lib/postgresql/<version>/bin (the newest installed; Debian's
  `postgresql` package, which scripts/deps.sh installs). Missing binaries
  raise RuntimeError: the tests must not silently skip.
- initdb refuses to run as root, so as root the cluster belongs to an
  unprivileged user: `actiond-test`, created with useradd when missing
  (a system user without a home or a login shell).
- The cluster lives in a fresh temporary directory (data, log, Unix socket
  directory), listens on 127.0.0.1 only, on a free port (retried when
  another process takes it first), with fsync off; authentication is
  scram-sha-256 everywhere, the superuser `postgres` and a login role
  `actiond` owning database `actiond_test` get random passwords.
- stop() (also on exit of the with block and at interpreter exit) stops the
  server with -m immediate and removes the directory (kept when
  ACT_KEEP_TMP is set).
"""

import atexit
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile

TEST_USER = "actiond-test"
DB = "actiond_test"
ROLE = "actiond"


def find_bindir():
    """The newest /usr/lib/postgresql/*/bin that has initdb, or None."""
    def version(path):
        v = path.split("/")[-2]
        return int(v) if v.isdigit() else 0
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.access(os.path.join(d, "initdb"), os.X_OK)]
    return max(dirs, key=version) if dirs else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ensure_user():
    """The unprivileged user the cluster runs as (created when missing)."""
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", TEST_USER],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return pwd.getpwnam(TEST_USER)


class Postgres:
    def __init__(self):
        self.bindir = find_bindir()
        if not self.bindir:
            raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
                               "(run scripts/deps.sh: it installs the postgresql package)")
        self.tmp = None
        self.port = None
        self.user = None
        self.started = False
        self.super_password = secrets.token_urlsafe(18)
        self.password = secrets.token_urlsafe(18)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- helpers

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    def _as_owner(self, argv, **kw):
        """Run a server-side tool as the cluster's owner."""
        if self.user:
            argv = ["runuser", "-u", self.user.pw_name, "--"] + argv
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, **kw)

    @property
    def data(self):
        return os.path.join(self.tmp, "data")

    @property
    def sockdir(self):
        return os.path.join(self.tmp, "sock")

    @property
    def dsn(self):
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{DB}"

    # -- lifecycle

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="actiond-pg-")
        os.makedirs(self.sockdir)
        pwfile = os.path.join(self.tmp, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.super_password + "\n")
        if os.geteuid() == 0:
            self.user = ensure_user()
            for root, dirs, files in os.walk(self.tmp):
                for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                    os.chown(n, self.user.pw_uid, self.user.pw_gid)
        atexit.register(self.stop)
        r = self._as_owner([self._bin("initdb"), "-D", self.data, "-U", "postgres",
                            "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                            "--locale=C", "--no-sync", "--no-instructions"])
        os.unlink(pwfile)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{r.stdout}")
        last = ""
        for _ in range(3):  # a free port can be taken before the server binds it
            self.port = free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=50")
            r = self._as_owner([self._bin("pg_ctl"), "-D", self.data, "-l",
                                os.path.join(self.tmp, "server.log"), "-w", "-t", "60",
                                "-o", opts, "start"])
            if r.returncode == 0:
                self.started = True
                break
            last = r.stdout + self.log_tail()
        if not self.started:
            raise RuntimeError(f"pg_ctl start failed:\n{last}")
        self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'", db="postgres",
                  superuser=True)
        self.psql(f"CREATE DATABASE {DB} OWNER {ROLE}", db="postgres", superuser=True)

    def stop(self):
        if self.started:
            self._as_owner([self._bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w",
                            "stop"])
            self.started = False
        if self.tmp and os.environ.get("ACT_KEEP_TMP") is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def restart(self):
        """Restart the server (fast shutdown: every client connection is
        closed), same port and options."""
        r = self._as_owner([self._bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "60",
                            "-l", os.path.join(self.tmp, "server.log"), "restart"])
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed:\n{r.stdout}{self.log_tail()}")

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.tmp, "server.log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no server log)"

    # -- client

    def psql(self, sql, db=DB, superuser=False):
        """Run SQL with psql over TCP; returns its unaligned, tuples-only
        output (one row a line, columns separated by '|'); raises on error."""
        env = dict(os.environ)
        env["PGPASSWORD"] = self.super_password if superuser else self.password
        r = subprocess.run([self._bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "postgres" if superuser else ROLE, "-d", db, "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.rstrip("\n")

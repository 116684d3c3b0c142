"""A private PostgreSQL 15 for one test: initdb into a temp dir as user
postgres, unix socket only (listen_addresses = ''), stopped by pg_ctl and,
failing that, by the postmaster's PID.

    pg = pgtest.start_postgres(tmp_path)
    request.addfinalizer(pg.stop)
    conn = pg.create_user_db("guard", "fleet")   # role + database, a conninfo
    pg.psql("SELECT count(*) FROM dg_versions", db="fleet")

The cluster lives in a fresh /tmp/dg-pg-XXXX (postgres must be able to
reach it, and pytest's own tmp dirs are root-only; short paths also keep
the socket path under its length limit).  Its log is copied to tmpdir on
stop.  DG_KEEP_TESTBED=1 keeps the cluster directory.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time

import testbed as tb

PG_BIN = os.environ.get("DG_PG_BIN", "/usr/lib/postgresql/15/bin")
TIMEOUT = 60


def available():
    """Is PostgreSQL 15 installed, with a postgres user, and are we root?"""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return os.geteuid() == 0 and os.access(
        os.path.join(PG_BIN, "initdb"), os.X_OK)


def _as_postgres(args, timeout=TIMEOUT, check=True, input=None):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          check=check, input=input)


class Postgres:
    def __init__(self, root, tmpdir):
        self.root = root
        self.tmpdir = str(tmpdir)
        self.data = os.path.join(root, "data")
        self.socket_dir = os.path.join(root, "sock")
        self.log = os.path.join(root, "postgres.log")
        self.pid = None
        self.stopped = False

    def _bin(self, name):
        return os.path.join(PG_BIN, name)

    def start(self):
        pw = pwd.getpwnam("postgres")
        os.makedirs(self.socket_dir)
        os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chown(self.socket_dir, pw.pw_uid, pw.pw_gid)
        _as_postgres([self._bin("initdb"), "-D", self.data, "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                     timeout=120)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as fh:
            fh.write("listen_addresses = ''\n"
                     "unix_socket_directories = '%s'\n"
                     "fsync = off\n"
                     "max_connections = 50\n" % self.socket_dir)
        _as_postgres([self._bin("pg_ctl"), "-D", self.data, "-l", self.log,
                      "-w", "-t", "60", "start"], timeout=90)
        with open(os.path.join(self.data, "postmaster.pid")) as fh:
            self.pid = int(fh.readline().strip())

    def conninfo(self, db="postgres", user="postgres", **extra):
        """A libpq key=value connection string to db as user."""
        parts = ["host=%s" % self.socket_dir, "dbname=%s" % db,
                 "user=%s" % user]
        parts += ["%s=%s" % kv for kv in sorted(extra.items())]
        return " ".join(parts)

    def psql(self, sql, db="postgres", user="postgres", check=True):
        """Run sql with psql; its unaligned, tuples-only output."""
        r = _as_postgres([self._bin("psql"),
                          "-h", self.socket_dir, "-d", db, "-U", user,
                          "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                          "-c", sql], check=False)
        if check and r.returncode != 0:
            raise tb.TestbedError("psql %r: %s" % (sql, r.stderr.strip()))
        return r.stdout

    def create_user_db(self, user, db):
        """A role (login) and a database it owns; its conninfo."""
        self.psql("CREATE ROLE %s LOGIN" % user)
        self.psql("CREATE DATABASE %s OWNER %s" % (db, user))
        return self.conninfo(db=db, user=user)

    def stop(self):
        """Stop the server (pg_ctl, else its PID) and copy its log."""
        if self.stopped:
            return
        self.stopped = True
        if self.pid is not None:
            try:
                _as_postgres([self._bin("pg_ctl"), "-D", self.data, "-m",
                              "fast", "-w", "-t", "30", "stop"], timeout=45,
                             check=False)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + 10
            for _ in range(100):
                if not tb.pid_alive(self.pid) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            if tb.pid_alive(self.pid):
                tb.kill_pid(self.pid)
        try:
            shutil.copy(self.log, os.path.join(self.tmpdir, "postgres.log"))
        except OSError:
            pass
        if not os.environ.get("DG_KEEP_TESTBED"):
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(tmpdir):
    """A started private PostgreSQL; the caller stops it (pg.stop)."""
    root = tempfile.mkdtemp(prefix="dg-pg-", dir="/tmp")
    os.chmod(root, 0o755)
    pg = Postgres(root, tmpdir)
    try:
        pg.start()
    except BaseException:
        pg.stop()
        raise
    return pg

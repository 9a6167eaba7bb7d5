"""Payout tasks on real Celery worker processes, with committed data: a task run twice pays
once, and a worker killed between the provider's transfer and our record is retried and pays
once.

These tests start their own workers on a queue of their own (VSTORE_PAYOUT_QUEUE) rather than
using the session's `celery_worker`: one of them is killed on purpose, and the session worker
must neither die nor take the payout task first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import override_settings

from billing.ledger import AccountRef
from billing.ledger_selectors import account_balance_for, balances_recompute_check
from billing.models import JournalEntry
from billing.payouts import services
from billing.payouts.models import Payout, PayoutEvent, SandboxTransfer
from billing.payouts.providers.sandbox import CRASH_ENV
from billing.payouts.tasks import payout_execute_task
from billing.payouts.testing import commission_settle, creator_make
from catalog.testing import staff_make

ROOT = Path(__file__).resolve().parents[1]
WAIT = 180  # seconds: a worker process starts Django first, on a shared 2-core machine


def database_url() -> str:
    """DATABASE_URL of the test database, for the worker processes (as conftest's workers)."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{quote(s['HOST'] or '', safe='')}{port}/{s['NAME']}"


@pytest.fixture
def payout_workers(committed_db) -> Iterator[Callable[..., subprocess.Popen]]:
    """start(crash=False) starts a worker on this test's own queue; all are stopped after."""
    queue = f"payouts-test-{uuid.uuid4().hex[:8]}"
    started: list[subprocess.Popen] = []

    def start(*, crash: bool = False) -> subprocess.Popen:
        env = dict(os.environ, DATABASE_URL=database_url())
        env.pop(CRASH_ENV, None)
        if crash:
            env[CRASH_ENV] = "1"
        name = f"{queue}-{len(started)}@%h"
        args = ["-A", "config", "worker", "--pool=solo", "-Q", queue, "-n", name, "-l", "warning"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", *args],
            env=env,
            cwd=ROOT,
        )
        started.append(proc)
        return proc

    with override_settings(VSTORE_PAYOUT_QUEUE=queue):
        start.queue = queue  # type: ignore[attr-defined]
        yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)


def approved_payout(fen: int) -> Payout:
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=fen)
    staff = staff_make()
    batch = services.payout_batch_create(
        kind="creator", minimum_fen=10_000, created_by=staff, only=[tenant.pk]
    )
    # Committed at once (no test transaction): the approval queues the payout's task.
    services.payout_batch_approve(batch=batch, user=staff, confirmed=True)
    return batch.payouts.get()


def paid_once(payout: Payout) -> None:
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert SandboxTransfer.objects.filter(payout_no=payout.payout_no).count() == 1
    assert JournalEntry.objects.filter(idempotency_key=f"payout:{payout.pk}").count() == 1
    assert payout.events.filter(action=PayoutEvent.Action.PAID).count() == 1
    assert account_balance_for(ref=AccountRef.commission_available(payout.tenant_id)) == 0
    assert balances_recompute_check() == []


def test_a_payout_task_run_twice_on_a_worker_pays_once(payout_workers):
    payout_workers()
    payout = approved_payout(21_000)  # the approval queued it once
    again = payout_execute_task.apply_async(
        kwargs={"payout_id": payout.pk}, queue=payout_workers.queue
    )

    assert again.get(timeout=WAIT) == "paid"
    paid_once(payout)


def test_a_worker_killed_after_the_transfer_is_retried_and_pays_once(payout_workers):
    doomed = payout_workers(crash=True)
    payout = approved_payout(33_300)

    # The sandbox provider records the transfer, commits, and kills its worker (SIGKILL)
    # before the payout can be recorded.
    assert doomed.wait(timeout=WAIT) == -signal.SIGKILL
    payout.refresh_from_db()
    assert payout.status == Payout.Status.SENDING
    assert SandboxTransfer.objects.filter(payout_no=payout.payout_no).count() == 1
    assert not JournalEntry.objects.filter(idempotency_key=f"payout:{payout.pk}").exists()

    # The retry (what the resume sweep sends for a payout stuck in "sending"), on a new worker,
    # twice for good measure.
    payout_workers()
    first = payout_execute_task.apply_async(
        kwargs={"payout_id": payout.pk}, queue=payout_workers.queue
    )
    second = payout_execute_task.apply_async(
        kwargs={"payout_id": payout.pk}, queue=payout_workers.queue
    )

    assert first.get(timeout=WAIT) == second.get(timeout=WAIT) == "paid"
    paid_once(payout)
    payout.refresh_from_db()
    assert (
        payout.provider_ref == SandboxTransfer.objects.get(payout_no=payout.payout_no).transfer_id
    )
    # The killed run and the resumed one; the third run found it paid and did nothing.
    assert payout.attempts == 2


# pytest-django creates the test database only for the aliases its `django_db` tests name: this
# ordinary test (in a test transaction) also makes the file runnable on its own.
@pytest.mark.django_db
def test_the_sandbox_provider_makes_one_transfer_per_payout_no():
    from billing.payouts.providers import Beneficiary, PayoutRefused
    from billing.payouts.providers.sandbox import SandboxPayoutProvider

    provider = SandboxPayoutProvider()
    who = Beneficiary(kind="creator", id=1, name="小店")
    first = provider.transfer(payout_no="POTEST1", amount_fen=500, currency="CNY", beneficiary=who)
    again = provider.transfer(payout_no="POTEST1", amount_fen=500, currency="CNY", beneficiary=who)

    assert first == again == provider.query("POTEST1")
    assert provider.query("POTEST2") is None
    assert SandboxTransfer.objects.filter(payout_no="POTEST1").count() == 1
    with pytest.raises(PayoutRefused):
        provider.transfer(payout_no="POTEST1", amount_fen=600, currency="CNY", beneficiary=who)

"""The ledger's core: balanced entries, the database's refusals, idempotency, balances."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, transaction

from billing.ledger import (
    AccountRef,
    EntrySpec,
    IdempotencyConflict,
    LedgerError,
    accounts_resolve,
    entries_post_many,
    entry_post,
)
from billing.ledger_selectors import (
    account_balance,
    account_balance_for,
    balances_recompute_check,
)
from billing.models import JournalEntry, LedgerAccount, Posting

CLEARING = AccountRef.clearing("alipay")
REVENUE = AccountRef.platform_revenue()
REFUNDS = AccountRef.refunds_payable("alipay")


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.mark.django_db
def test_a_balanced_entry_posts_and_moves_the_balances():
    before = account_balance_for(ref=CLEARING), account_balance_for(ref=REVENUE)
    entry = entry_post(key=key(), lines=[(CLEARING, 1234), (REVENUE, -1234)], memo="fee")

    assert sorted(entry.postings.values_list("amount", flat=True)) == [-1234, 1234]
    assert account_balance_for(ref=CLEARING) == before[0] + 1234
    assert account_balance_for(ref=REVENUE) == before[1] - 1234
    account = LedgerAccount.objects.get(CLEARING.q())
    assert account_balance(account=account) == before[0] + 1234
    assert type(account_balance(account=account)) is int  # fen, not a Decimal from SUM()
    assert balances_recompute_check() == []


@pytest.mark.django_db
def test_every_posting_carries_its_own_idempotency_key():
    k = key()
    entry = entry_post(key=k, lines=[(CLEARING, 5), (REVENUE, -3), (REFUNDS, -2)])
    keys = sorted(entry.postings.values_list("idempotency_key", flat=True))
    assert keys == [f"{k}#0", f"{k}#1", f"{k}#2"]


@pytest.mark.django_db
def test_an_unbalanced_entry_is_refused_by_the_service_before_touching_the_database():
    k = key()
    with pytest.raises(LedgerError, match=r"does not balance: .*\+1 CNY"):
        entry_post(key=k, lines=[(CLEARING, 100), (REVENUE, -99)])
    with pytest.raises(LedgerError, match="does not balance"):
        entry_post(key=k, lines=[(CLEARING, 100), (AccountRef.platform_revenue("USD"), -100)])
    assert not JournalEntry.objects.filter(idempotency_key=k).exists()


@pytest.mark.django_db
def test_malformed_lines_are_refused():
    for lines in (
        [(CLEARING, 100)],
        [(CLEARING, 1.5), (REVENUE, -1.5)],
        [(CLEARING, 0), (REVENUE, 0)],
        [(CLEARING, True), (REVENUE, -1)],
        [("clearing", 1), (REVENUE, -1)],
    ):
        with pytest.raises(LedgerError):
            entry_post(key=key(), lines=lines)
    with pytest.raises(LedgerError):
        entry_post(key="", lines=[(CLEARING, 1), (REVENUE, -1)])
    with pytest.raises(LedgerError, match="owned by"):
        AccountRef("supplier_payable")


@pytest.mark.django_db
def test_the_same_key_twice_posts_one_entry():
    k = key()
    first = entry_post(key=k, lines=[(CLEARING, 700), (REVENUE, -700)])
    again = entry_post(key=k, lines=[(CLEARING, 700), (REVENUE, -700)])

    assert again.pk == first.pk
    assert JournalEntry.objects.filter(idempotency_key=k).count() == 1
    assert Posting.objects.filter(entry=first).count() == 2


@pytest.mark.django_db
def test_the_same_key_with_other_lines_is_a_conflict_not_a_silent_success():
    k = key()
    entry_post(key=k, lines=[(CLEARING, 700), (REVENUE, -700)])
    with pytest.raises(IdempotencyConflict):
        entry_post(key=k, lines=[(CLEARING, 701), (REVENUE, -701)])


@pytest.mark.django_db
def test_batched_posting_posts_each_entry_once_and_returns_them_in_order():
    keys = [key() for _ in range(50)]
    done = entry_post(key=keys[3], lines=[(CLEARING, 4), (REVENUE, -4)])
    specs = [
        EntrySpec(key=k, lines=[(CLEARING, n + 1), (REVENUE, -(n + 1))]) for n, k in enumerate(keys)
    ]
    entries = entries_post_many(entries=specs)
    again = entries_post_many(entries=specs)

    assert [e.idempotency_key for e in entries] == keys
    assert entries[3].pk == done.pk
    assert [e.pk for e in again] == [e.pk for e in entries]
    assert JournalEntry.objects.filter(idempotency_key__in=keys).count() == 50
    assert Posting.objects.filter(entry__idempotency_key__in=keys).count() == 100
    assert balances_recompute_check() == []


@pytest.mark.django_db
def test_a_batch_with_one_unbalanced_entry_posts_nothing():
    keys = [key(), key()]
    with pytest.raises(LedgerError):
        entries_post_many(
            entries=[
                EntrySpec(key=keys[0], lines=[(CLEARING, 1), (REVENUE, -1)]),
                EntrySpec(key=keys[1], lines=[(CLEARING, 2), (REVENUE, -1)]),
            ]
        )
    assert not JournalEntry.objects.filter(idempotency_key__in=keys).exists()


@pytest.mark.django_db
def test_accounts_are_made_once_per_kind_owner_and_currency():
    refs = [AccountRef.platform_revenue("EUR"), AccountRef.platform_revenue("EUR")]
    first = accounts_resolve(refs=refs)
    second = accounts_resolve(refs=[AccountRef.platform_revenue("EUR")])
    assert len(first) == 1
    assert first[refs[0]].pk == second[refs[0]].pk
    # Even bypassing the service, a second platform revenue account in EUR is refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(kind="platform_revenue", currency="EUR")


def _posted_entry() -> JournalEntry:
    return entry_post(key=key(), lines=[(CLEARING, 10), (REVENUE, -10)])


@pytest.mark.django_db
def test_raw_sql_update_of_a_posting_fails():
    entry = _posted_entry()
    with (
        pytest.raises(DatabaseError, match="never changed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE billing_posting SET amount = amount * 2 WHERE entry_id = %s", [entry.pk]
        )


@pytest.mark.django_db
def test_raw_sql_delete_of_a_posting_fails():
    entry = _posted_entry()
    with (
        pytest.raises(DatabaseError, match="never changed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM billing_posting WHERE entry_id = %s", [entry.pk])


@pytest.mark.django_db
def test_raw_sql_update_and_delete_of_a_journal_entry_fail():
    entry = _posted_entry()
    for statement in (
        "UPDATE billing_journalentry SET memo = 'edited' WHERE id = %s",
        "DELETE FROM billing_journalentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="never changed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    assert JournalEntry.objects.get(pk=entry.pk).memo == ""


@pytest.mark.django_db
def test_truncating_the_ledger_fails():
    for table in ("billing_posting", "billing_journalentry"):
        with (
            pytest.raises(DatabaseError, match="TRUNCATE"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {table} CASCADE")


@pytest.mark.django_db
def test_the_orm_cannot_edit_or_delete_posted_rows_either():
    entry = _posted_entry()
    posting = entry.postings.first()
    posting.amount = 11
    with pytest.raises(DatabaseError), transaction.atomic():
        posting.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.filter(entry=entry).delete()


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _raw_entry(k: str, amounts: list[int]) -> int:
    account = accounts_resolve(refs=[REVENUE])[REVENUE]
    entry_id = sql(
        "INSERT INTO billing_journalentry (idempotency_key, memo, order_number, created_at)"
        " VALUES (%s, 'raw', '', now()) RETURNING id",
        [k],
    )[0][0]
    for n, amount in enumerate(amounts):
        sql(
            "INSERT INTO billing_posting (entry_id, account_id, amount, currency, idempotency_key)"
            " VALUES (%s, %s, %s, 'CNY', %s)",
            [entry_id, account.pk, amount, f"{k}#{n}"],
        )
    return entry_id


def test_an_unbalanced_entry_inserted_by_raw_sql_fails_at_commit(committed_db):
    k = key()
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_entry(k, [500, -499])
        # Inside the transaction the rows are there: the check waits for the commit.
        cursor.execute(
            "SELECT count(*) FROM billing_posting WHERE idempotency_key LIKE %s", [f"{k}#%"]
        )
        assert cursor.fetchone()[0] == 2
    assert not JournalEntry.objects.filter(idempotency_key=k).exists()


def test_an_entry_without_postings_fails_at_commit(committed_db):
    k = key()
    with pytest.raises(IntegrityError, match="at least two"), transaction.atomic():
        _raw_entry(k, [])
    assert not JournalEntry.objects.filter(idempotency_key=k).exists()


def test_a_posting_in_another_currency_than_its_account_fails_at_commit(committed_db):
    k = key()
    with pytest.raises(IntegrityError, match="another currency"), transaction.atomic():
        entry_id = _raw_entry(k, [7, -7])
        account = LedgerAccount.objects.get(REVENUE.q())
        for n, amount in enumerate([3, -3]):
            sql(
                "INSERT INTO billing_posting"
                " (entry_id, account_id, amount, currency, idempotency_key)"
                " VALUES (%s, %s, %s, 'USD', %s)",
                [entry_id, account.pk, amount, f"{k}#usd{n}"],
            )
    assert not JournalEntry.objects.filter(idempotency_key=k).exists()


def test_an_entry_checked_early_is_checked_again_after_more_postings(committed_db):
    """SET CONSTRAINTS … IMMEDIATE passes the entry; a later unbalanced posting still fails."""
    k = key()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        entry_id = _raw_entry(k, [5, -5])
        sql("SET CONSTRAINTS ALL IMMEDIATE")
        sql("SET CONSTRAINTS ALL DEFERRED")
        account = LedgerAccount.objects.get(REVENUE.q())
        sql(
            "INSERT INTO billing_posting (entry_id, account_id, amount, currency, idempotency_key)"
            " VALUES (%s, %s, 1, 'CNY', %s)",
            [entry_id, account.pk, f"{k}#more"],
        )
    assert not JournalEntry.objects.filter(idempotency_key=k).exists()


def test_a_balanced_entry_inserted_by_raw_sql_commits(committed_db):
    k = key()
    with transaction.atomic():
        _raw_entry(k, [500, -300, -200])
    assert JournalEntry.objects.filter(idempotency_key=k).exists()
    assert balances_recompute_check() == []


def test_postings_added_later_to_a_committed_entry_must_balance_too(committed_db):
    k = key()
    with transaction.atomic():
        entry_id = _raw_entry(k, [1, -1])
    account = LedgerAccount.objects.get(REVENUE.q())
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO billing_posting (entry_id, account_id, amount, currency, idempotency_key)"
            " VALUES (%s, %s, 9, 'CNY', %s)",
            [entry_id, account.pk, f"{k}#late"],
        )
    assert Posting.objects.filter(entry_id=entry_id).count() == 2


class _RolledBack(Exception):
    pass


def _race(k: str, lines, *, first_commits: bool) -> dict[str, int]:
    """Thread A posts K and holds it uncommitted until thread B is seen waiting on the key;
    then A commits (or rolls back). Returns the entry id each thread got (A: none if rolled
    back)."""
    a_inserted = threading.Event()
    b_pid: list[int] = []
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def run(name: str, fn) -> None:
        try:
            results[name] = fn()
        except _RolledBack:
            pass
        except BaseException as error:
            errors.append(error)
            a_inserted.set()
        finally:
            connections.close_all()

    def poster_a() -> int:
        with transaction.atomic():
            entry = entry_post(key=k, lines=lines)
            a_inserted.set()
            deadline = time.monotonic() + 30
            with connection.cursor() as cursor:
                while True:
                    assert time.monotonic() < deadline, "B never waited on A's key"
                    if not b_pid:
                        continue
                    cursor.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [b_pid[0]]
                    )
                    row = cursor.fetchone()
                    if row and row[0] == "Lock":
                        break
            if not first_commits:
                raise _RolledBack
        return entry.pk

    def poster_b() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        a_inserted.wait(timeout=30)
        b_pid.append(pid)
        return entry_post(key=k, lines=lines).pk

    threads = [
        threading.Thread(target=run, args=("a", poster_a)),
        threading.Thread(target=run, args=("b", poster_b)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_two_threads_posting_the_same_key_make_one_entry(committed_db):
    k = key()
    results = _race(k, [(CLEARING, 250), (REVENUE, -250)], first_commits=True)

    assert results["a"] == results["b"]
    assert JournalEntry.objects.filter(idempotency_key=k).count() == 1
    assert Posting.objects.filter(entry__idempotency_key=k).count() == 2


def test_when_the_first_poster_of_a_key_rolls_back_the_waiting_one_posts(committed_db):
    k = key()
    results = _race(k, [(CLEARING, 260), (REVENUE, -260)], first_commits=False)

    assert "a" not in results
    assert list(JournalEntry.objects.filter(idempotency_key=k).values_list("pk", flat=True)) == [
        results["b"]
    ]
    assert Posting.objects.filter(entry__idempotency_key=k).count() == 2


@pytest.mark.django_db
def test_the_recomputation_check_finds_rows_that_bypassed_the_triggers():
    """With triggers off (a restore, a superuser's manual fix) nothing stops bad rows: the
    check is what finds them. Everything here is rolled back with the test's transaction."""
    assert balances_recompute_check() == []
    k = key()
    sql("SET LOCAL session_replication_role = replica")
    entry_id = _raw_entry(k, [100, -90])
    lonely_id = _raw_entry(key(), [])
    sql("SET LOCAL session_replication_role = origin")

    problems = balances_recompute_check()

    assert {(p.entry_id, p.what) for p in problems} >= {
        (entry_id, "sums to +10 CNY"),
        (lonely_id, "has 0 posting(s)"),
        (None, "account balances sum to +10 CNY"),
    }

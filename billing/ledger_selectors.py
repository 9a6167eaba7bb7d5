"""The ledger's reads. Balances are always summed from postings: no stored balance can drift.

Sign convention: debit positive, credit negative. A liability (a supplier's payable, a creator's
commission) therefore has a negative balance while it is owed; `owed_fen` gives the positive
figure a statement shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from .models import AccountKind, JournalEntry, LedgerAccount, Posting

if TYPE_CHECKING:
    from datetime import datetime

    from django.db.models import QuerySet

    from tenants.models import Tenant

    from .ledger import AccountRef


def account_balance(*, account: LedgerAccount) -> int:
    """ACCOUNT's balance in fen (signed: debit positive), from its postings."""
    total = Posting.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    # SUM over bigint is numeric in Postgres: fen are ints here.
    return int(total or 0)


def account_balance_for(*, ref: AccountRef) -> int:
    """The balance of the account REF names; 0 when nothing has been posted to it yet."""
    account = LedgerAccount.objects.filter(ref.q()).first()
    return 0 if account is None else account_balance(account=account)


def owed_fen(*, ref: AccountRef) -> int:
    """What a liability account (payable, commission) owes, as a positive number of fen."""
    return -account_balance_for(ref=ref)


def entry_by_key(*, key: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(idempotency_key=key).first()


def entries_for_order(*, tenant: Tenant, order_number: str) -> QuerySet[JournalEntry]:
    """An order's journal entries (capture, and later clawbacks and releases), oldest first."""
    return (
        JournalEntry.objects.filter(tenant=tenant, order_number=order_number)
        .prefetch_related("postings__account")
        .order_by("pk")
    )


@dataclass(frozen=True)
class CouponCosts:
    """What coupons took off a shop's orders, net of returns (fen, positive = a discount)."""

    creator_fen: int  # her own coupons ("优惠券（店铺承担）"): out of her commission
    platform_fen: int  # the platform's ("优惠券（平台承担）"): its marketing expense, not hers


def coupon_costs(
    *,
    tenant_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    currency: str = "CNY",
) -> CouponCosts:
    """The coupons on TENANT_ID's orders posted in [START, END) (all time by default).

    Read from the postings, as every figure: the capture entry credits her commission before her
    coupons and debits her coupons apart (billing.ledger.capture_post), and a return's reversal
    credits her coupon's share back; the platform's coupons are the platform marketing postings
    of the shop's entries (debited by captures, credited by returns).
    """
    postings = Posting.objects.filter(entry__tenant_id=tenant_id, currency=currency)
    if start is not None:
        postings = postings.filter(entry__created_at__gte=start)
    if end is not None:
        postings = postings.filter(entry__created_at__lt=end)
    own = Q(
        account__kind__in=[
            AccountKind.CREATOR_COMMISSION_PENDING,
            AccountKind.CREATOR_COMMISSION_AVAILABLE,
        ],
        account__tenant_id=tenant_id,
    )
    marketing = Q(account__kind=AccountKind.PLATFORM_MARKETING)
    capture = Q(
        entry__idempotency_key__startswith="payment:",
        entry__idempotency_key__endswith=":capture",
    )
    returned = Q(entry__idempotency_key__startswith="return:")
    totals = postings.filter((own | marketing) & (capture | returned)).aggregate(
        creator=Coalesce(Sum("amount", filter=own & capture & Q(amount__gt=0)), 0),
        creator_back=Coalesce(Sum("amount", filter=own & returned & Q(amount__lt=0)), 0),
        platform=Coalesce(Sum("amount", filter=marketing), 0),
    )
    return CouponCosts(
        creator_fen=int(totals["creator"]) + int(totals["creator_back"]),
        platform_fen=int(totals["platform"]),
    )


@dataclass(frozen=True)
class LedgerProblem:
    entry_id: int | None
    what: str


def balances_recompute_check() -> list[LedgerProblem]:
    """Recompute the books from the postings and list every problem; an empty list is healthy.

    The ledger keeps no stored balances (every balance is a SUM over postings), so what can go
    wrong is the postings themselves: an entry that does not sum to zero in some currency, an
    entry with fewer than two postings, a posting whose currency is not its account's, or
    per-account balances that do not add up to zero per currency overall. The database's
    triggers prevent all of these; this check proves it after the fact (restores, manual SQL
    with triggers disabled, a future migration).
    """
    problems: list[LedgerProblem] = []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT entry_id, currency, sum(amount)::bigint FROM billing_posting
            GROUP BY entry_id, currency HAVING sum(amount) <> 0 ORDER BY entry_id
            """
        )
        problems += [
            LedgerProblem(entry_id, f"sums to {total:+d} {currency}")
            for entry_id, currency, total in cursor.fetchall()
        ]
        cursor.execute(
            """
            SELECT e.id, count(p.id) FROM billing_journalentry e
            LEFT JOIN billing_posting p ON p.entry_id = e.id
            GROUP BY e.id HAVING count(p.id) < 2 ORDER BY e.id
            """
        )
        problems += [
            LedgerProblem(entry_id, f"has {n} posting(s)") for entry_id, n in cursor.fetchall()
        ]
        cursor.execute(
            """
            SELECT p.entry_id, p.id, p.currency, a.currency FROM billing_posting p
            JOIN billing_ledgeraccount a ON a.id = p.account_id
            WHERE p.currency <> a.currency ORDER BY p.id
            """
        )
        problems += [
            LedgerProblem(entry_id, f"posting {pk} in {cur}, its account in {account_cur}")
            for entry_id, pk, cur, account_cur in cursor.fetchall()
        ]
        cursor.execute(
            """
            SELECT a.currency, sum(b.total)::bigint FROM billing_ledgeraccount a
            JOIN (SELECT account_id, sum(amount) AS total FROM billing_posting
                  GROUP BY account_id) b ON b.account_id = a.id
            GROUP BY a.currency HAVING sum(b.total) <> 0
            """
        )
        problems += [
            LedgerProblem(None, f"account balances sum to {total:+d} {currency}")
            for currency, total in cursor.fetchall()
        ]
    return problems

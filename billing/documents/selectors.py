"""Reads for statements and invoices, and a statement's figures from the ledger.

A statement is a view of the ledger, never a second set of books: every figure is a SUM over
the postings on the owner's accounts (a creator's pending and available commission, a
supplier's pending and available payable) in the month, grouped by what the entry was, which
its idempotency key's first part says:

    payment:<out_trade_no>:capture   a sale (billing.ledger.capture_post)
    return:…                          a return: refund, clawback (7-day returns)
    settle:… / order:…:release        pending moved to available (the return window closed)
    payout:…                          money paid out to the owner
    anything else                     other adjustments (corrections)

Grouping by key prefix rather than by a list of known entries keeps the statement right as
new kinds of entries land; and "closing = opening + the month's movements" holds by
construction, because both sides are sums over the same postings.

Coupons (issue 12) are read from the same postings: a creator's own coupons are the debits on
her commission accounts in capture entries (her commission is credited before them), and a
return gives their share back as a credit in its reversal; the platform's coupons are the
platform marketing expense posted in her shop's capture and return entries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db.models import CharField, Count, F, Func, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.ledger import AccountRef
from billing.ledger_selectors import coupon_costs
from billing.models import AccountKind, JournalEntry, LedgerAccount, Posting

from .models import Invoice, Statement

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from catalog.models import Supplier
    from tenants.models import Tenant

# Bump when the statement template changes what it shows: a re-render then makes a new file.
STATEMENT_LAYOUT_VERSION = 3
# A statement lists at most this many entries (the totals always cover all of them).
DETAIL_ROWS_MAX = 300

CATEGORY_OF_PREFIX = {
    "payment": "sales",
    "return": "returns",
    "settle": "settlements",
    "order": "settlements",
    "payout": "payouts",
}
CATEGORIES = ("sales", "returns", "settlements", "payouts", "other")


def month_first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month's [start, end) as aware datetimes in the project's time zone (Asia/Shanghai):
    a sale at 23:30 on the 31st, Beijing time, belongs to that month, not the next."""
    start = month_first(month)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    zone = timezone.get_default_timezone()
    return (
        timezone.make_aware(dt.datetime.combine(start, dt.time()), zone),
        timezone.make_aware(dt.datetime.combine(following, dt.time()), zone),
    )


def owner_account_refs(*, kind: str, owner: Tenant | Supplier) -> list[AccountRef]:
    if kind == Statement.Kind.CREATOR:
        return [AccountRef.commission_pending(owner.pk), AccountRef.commission_available(owner.pk)]
    if kind == Statement.Kind.SUPPLIER:
        return [AccountRef.supplier_payable(owner.pk), AccountRef.supplier_available(owner.pk)]
    raise ValueError(f"unknown statement kind {kind!r}")


def _owner_accounts(kind: str, owner: Tenant | Supplier) -> list[int]:
    query = Q(pk__in=[])
    for ref in owner_account_refs(kind=kind, owner=owner):
        query |= ref.q()
    return list(LedgerAccount.objects.filter(query).values_list("pk", flat=True))


def _key_prefix() -> Func:
    return Func(
        F("entry__idempotency_key"),
        Value(":"),
        Value(1),
        function="split_part",
        output_field=CharField(),
    )


def statement_figures(*, kind: str, owner: Tenant | Supplier, month: dt.date) -> dict[str, Any]:
    """Everything a statement shows, as JSON-able data (ints of fen, strings), from the ledger.

    Amounts are what the platform owes the owner, so positive is in the owner's favour: a sale
    adds commission (creator) or payable (supplier); a return or a payout takes it away.
    """
    month = month_first(month)
    start, end = month_bounds(month)
    accounts = _owner_accounts(kind, owner)
    postings = Posting.objects.filter(account_id__in=accounts)

    # Credits are negative in the ledger; what is owed is the negated sum.
    opening: dict[str, int] = defaultdict(int)
    for row in (
        postings.filter(entry__created_at__lt=start)
        .values("account__kind")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        opening[row["account__kind"]] -= int(row["total"])
    movements: dict[str, dict[str, int]] = {c: defaultdict(int) for c in CATEGORIES}
    month_postings = postings.filter(entry__created_at__gte=start, entry__created_at__lt=end)
    for row in (
        month_postings.annotate(prefix=_key_prefix())
        .values("account__kind", "prefix")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        category = CATEGORY_OF_PREFIX.get(row["prefix"], "other")
        movements[category][row["account__kind"]] -= int(row["total"])

    kinds = _kinds(kind)
    closing = {k: opening[k] + sum(movements[c][k] for c in CATEGORIES) for k in kinds}
    entries = (
        JournalEntry.objects.filter(
            postings__account_id__in=accounts, created_at__gte=start, created_at__lt=end
        )
        .annotate(owed=Sum("postings__amount"))
        .order_by("created_at", "pk")
        .values("pk", "idempotency_key", "order_number", "created_at", "owed")
    )
    rows = [
        {
            "date": timezone.localtime(entry["created_at"]).strftime("%Y-%m-%d"),
            "category": CATEGORY_OF_PREFIX.get(entry["idempotency_key"].split(":", 1)[0], "other"),
            "order_number": entry["order_number"],
            "amount_fen": -int(entry["owed"]),
        }
        for entry in entries[: DETAIL_ROWS_MAX + 1]
    ]
    # Settlements move money between the owner's two accounts: their own row nets to zero.
    figures: dict[str, Any] = {
        "layout": STATEMENT_LAYOUT_VERSION,
        "kind": kind,
        "owner_id": owner.pk,
        "owner_name": _owner_name(kind, owner),
        "month": month.isoformat(),
        "accounts": list(kinds),
        "opening": {k: opening[k] for k in kinds},
        "movements": {c: {k: movements[c][k] for k in kinds} for c in CATEGORIES},
        "closing": closing,
        "opening_total_fen": sum(opening[k] for k in kinds),
        "closing_total_fen": sum(closing.values()),
        "totals": {c: sum(movements[c][k] for k in kinds) for c in CATEGORIES},
        "rows": rows[:DETAIL_ROWS_MAX],
        "rows_truncated": len(rows) > DETAIL_ROWS_MAX,
    }
    figures.update(_sales_figures(kind, owner, start, end))
    return figures


def _kinds(kind: str) -> tuple[str, ...]:
    if kind == Statement.Kind.CREATOR:
        return (
            AccountKind.CREATOR_COMMISSION_PENDING.value,
            AccountKind.CREATOR_COMMISSION_AVAILABLE.value,
        )
    return (AccountKind.SUPPLIER_PAYABLE.value, AccountKind.SUPPLIER_AVAILABLE.value)


def _owner_name(kind: str, owner: Any) -> str:
    if kind == Statement.Kind.CREATOR:
        return str(owner.name)
    return str(owner.company_name)


def _sales_figures(
    kind: str, owner: Tenant | Supplier, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """The month's orders and what buyers paid for them (creator) or the goods' supply value
    (supplier): read from the capture entries, which carry the whole order's split."""
    captures = JournalEntry.objects.filter(
        idempotency_key__startswith="payment:",
        idempotency_key__endswith=":capture",
        created_at__gte=start,
        created_at__lt=end,
    )
    if kind == Statement.Kind.CREATOR:
        captures = captures.filter(tenant_id=owner.pk)
        coupons = _coupon_figures(owner, start, end)
        totals = captures.aggregate(
            orders=Count("pk", distinct=True),
            paid=Coalesce(
                Sum(
                    "postings__amount",
                    filter=Q(postings__account__kind=AccountKind.PAYMENT_CLEARING),
                ),
                0,
            ),
            fee=Coalesce(
                Sum(
                    "postings__amount",
                    filter=Q(postings__account__kind=AccountKind.PLATFORM_REVENUE),
                ),
                0,
            ),
        )
        return {
            "orders": int(totals["orders"]),
            "buyers_paid_fen": int(totals["paid"]),
            "platform_fee_fen": -int(totals["fee"]),
            **coupons,
        }
    totals = captures.filter(
        postings__account__kind=AccountKind.SUPPLIER_PAYABLE,
        postings__account__supplier=owner,
    ).aggregate(orders=Count("pk", distinct=True))
    return {"orders": int(totals["orders"])}


def _coupon_figures(
    owner: Tenant | Supplier, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """The month's coupons on the shop's orders, net of returns (fen, positive = a discount):
    the creator's own ("优惠券（店铺承担）", out of her commission) and the platform's
    ("优惠券（平台承担）", the platform's marketing expense: it costs her nothing)."""
    costs = coupon_costs(tenant_id=owner.pk, start=start, end=end)
    return {"creator_coupons_fen": costs.creator_fen, "platform_coupons_fen": costs.platform_fen}


# --- lists --------------------------------------------------------------------------------------


def statements_for_tenant(*, tenant: Tenant) -> QuerySet[Statement]:
    """A creator's statements, newest month first: only her own shop's."""
    return Statement.objects.filter(kind=Statement.Kind.CREATOR, tenant=tenant).order_by("-month")


def statements_for_supplier(*, supplier: Supplier) -> QuerySet[Statement]:
    return Statement.objects.filter(kind=Statement.Kind.SUPPLIER, supplier=supplier).order_by(
        "-month"
    )


def invoice_for_order(*, tenant: Tenant, order_number: str) -> Invoice | None:
    return Invoice.objects.filter(tenant=tenant, order_number=order_number).first()


def statement_owners_active(*, month: dt.date) -> tuple[list[int], list[int]]:
    """(tenant ids, supplier ids) with an account that existed by the end of MONTH: the owners
    whose monthly statement the beat job makes (an owner with no books has nothing to state)."""
    _start, end = month_bounds(month)
    accounts = LedgerAccount.objects.filter(created_at__lt=end)
    tenants = accounts.filter(
        kind__in=[
            AccountKind.CREATOR_COMMISSION_PENDING,
            AccountKind.CREATOR_COMMISSION_AVAILABLE,
        ]
    )
    suppliers = accounts.filter(
        kind__in=[AccountKind.SUPPLIER_PAYABLE, AccountKind.SUPPLIER_AVAILABLE]
    )
    return (
        sorted(set(tenants.values_list("tenant_id", flat=True))),
        sorted(set(suppliers.values_list("supplier_id", flat=True))),
    )

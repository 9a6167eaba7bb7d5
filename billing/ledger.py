"""The ledger's writes: post journal entries, post a capture, configure commission (single level).

Sign convention (billing.models): a posting's amount is signed fen, debit positive and credit
negative, so an entry balances when its postings sum to zero per currency. The database checks
the same at commit and refuses any change to a posted row; corrections are new entries.

Every entry has an idempotency key. Posting with a key that is already there returns the entry
that is there and posts nothing, so a retried task posts once, also when two workers race: the
unique key decides the winner and the loser returns the winner's entry.

Accounts are named by an `AccountRef` (kind + owner + currency) and made on first use.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import (
    ACCOUNT_OWNER,
    AccountKind,
    CommissionRule,
    JournalEntry,
    LedgerAccount,
    Payment,
)

if TYPE_CHECKING:
    from tenants.models import Tenant

KEY_MAX = 200


class LedgerError(Exception):
    """A posting the ledger refuses (unbalanced, malformed, or not matching its payment)."""


class IdempotencyConflict(LedgerError):
    """The key is already used by an entry with other postings: two things share one key."""


# --- accounts -----------------------------------------------------------------------------------


_OWNER_OF = {kind.value: owner for kind, owner in ACCOUNT_OWNER.items()}


@dataclass(frozen=True, order=True)
class AccountRef:
    """Names a ledger account without a database round trip; `accounts_resolve` makes it real.

    Use the constructors: AccountRef.platform_revenue(), .clearing("sandbox"),
    .supplier_payable(supplier_id), .commission_pending(tenant_id), .commission_available(…),
    .refunds_payable("sandbox"), .platform_marketing().
    """

    kind: str
    currency: str = "CNY"
    supplier_id: int = 0  # 0: none (kept an int, not None, so refs sort: the lock order)
    tenant_id: int = 0
    provider: str = ""

    def __post_init__(self) -> None:
        owner = _OWNER_OF.get(self.kind, "?")
        if owner == "?":
            raise LedgerError(f"unknown account kind {self.kind!r}")
        if (
            (owner == "supplier") != bool(self.supplier_id)
            or (owner == "tenant") != bool(self.tenant_id)
            or (owner == "provider") != bool(self.provider)
        ):
            raise LedgerError(f"a {self.kind} account is owned by {owner or 'the platform'} alone")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise LedgerError(f"currency must be an ISO code like 'CNY', not {self.currency!r}")

    @classmethod
    def platform_revenue(cls, currency: str = "CNY") -> AccountRef:
        return cls(AccountKind.PLATFORM_REVENUE.value, currency)

    @classmethod
    def clearing(cls, provider: str, currency: str = "CNY") -> AccountRef:
        return cls(AccountKind.PAYMENT_CLEARING.value, currency, provider=provider)

    @classmethod
    def refunds_payable(cls, provider: str, currency: str = "CNY") -> AccountRef:
        return cls(AccountKind.REFUNDS_PAYABLE.value, currency, provider=provider)

    @classmethod
    def platform_marketing(cls, currency: str = "CNY") -> AccountRef:
        """The platform's marketing expense: what its own coupons took off orders (debited)."""
        return cls(AccountKind.PLATFORM_MARKETING.value, currency)

    @classmethod
    def supplier_payable(cls, supplier_id: int, currency: str = "CNY") -> AccountRef:
        return cls(AccountKind.SUPPLIER_PAYABLE.value, currency, supplier_id=supplier_id)

    @classmethod
    def supplier_available(cls, supplier_id: int, currency: str = "CNY") -> AccountRef:
        """What the supplier is owed after settlement (the return window closed): paid out."""
        return cls(AccountKind.SUPPLIER_AVAILABLE.value, currency, supplier_id=supplier_id)

    @classmethod
    def commission_pending(cls, tenant_id: int, currency: str = "CNY") -> AccountRef:
        return cls(AccountKind.CREATOR_COMMISSION_PENDING.value, currency, tenant_id=tenant_id)

    @classmethod
    def commission_available(cls, tenant_id: int, currency: str = "CNY") -> AccountRef:
        return cls(AccountKind.CREATOR_COMMISSION_AVAILABLE.value, currency, tenant_id=tenant_id)

    @classmethod
    def of(cls, account: LedgerAccount) -> AccountRef:
        return cls(
            account.kind,
            account.currency,
            supplier_id=account.supplier_id or 0,
            tenant_id=account.tenant_id or 0,
            provider=account.provider,
        )

    def q(self) -> Q:
        return Q(
            kind=self.kind,
            currency=self.currency,
            supplier_id=self.supplier_id or None,
            tenant_id=self.tenant_id or None,
            provider=self.provider,
        )


def accounts_resolve(*, refs: Iterable[AccountRef]) -> dict[AccountRef, LedgerAccount]:
    """The accounts REFS name, made where missing.

    Missing accounts are inserted in one statement in the refs' sort order, so concurrent
    posters wait on the unique index in the same order and cannot deadlock; a row another
    transaction inserted first is skipped (ON CONFLICT DO NOTHING) and read back.
    """
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    found = _accounts_fetch(wanted)
    missing = [ref for ref in wanted if ref not in found]
    if missing:
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(
                    kind=ref.kind,
                    currency=ref.currency,
                    supplier_id=ref.supplier_id or None,
                    tenant_id=ref.tenant_id or None,
                    provider=ref.provider,
                )
                for ref in missing
            ],
            ignore_conflicts=True,
        )
        found |= _accounts_fetch(missing)
    return found


def _accounts_fetch(refs: Sequence[AccountRef]) -> dict[AccountRef, LedgerAccount]:
    # One join against the refs as arrays: an ORM filter OR-ing one Q per ref cost more to
    # build than the query took to run, on every posting.
    rows = LedgerAccount.objects.raw(
        """
        SELECT a.* FROM billing_ledgeraccount a
          JOIN unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::bigint[], %s::varchar[])
            AS r(kind, currency, supplier_id, tenant_id, provider)
            ON a.kind = r.kind AND a.currency = r.currency AND a.provider = r.provider
           AND coalesce(a.supplier_id, 0) = r.supplier_id
           AND coalesce(a.tenant_id, 0) = r.tenant_id
        """,
        [
            [ref.kind for ref in refs],
            [ref.currency for ref in refs],
            [ref.supplier_id for ref in refs],
            [ref.tenant_id for ref in refs],
            [ref.provider for ref in refs],
        ],
    )
    return {AccountRef.of(account): account for account in rows}


# --- entries ------------------------------------------------------------------------------------

Line = tuple["AccountRef | LedgerAccount", int]


@dataclass(frozen=True)
class EntrySpec:
    """One journal entry to post: its key, its lines (account, signed fen) and its reference."""

    key: str
    lines: Sequence[Line]
    memo: str = ""
    tenant: Tenant | None = None
    order_number: str = ""
    payment: Payment | None = None
    refs: tuple[AccountRef, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip() or len(self.key) > KEY_MAX:
            raise LedgerError(f"an entry needs an idempotency key of 1..{KEY_MAX} characters")
        if len(self.lines) < 2:
            raise LedgerError(f"entry {self.key}: an entry needs at least two lines")
        refs = []
        totals: Counter[str] = Counter()
        for account, amount in self.lines:
            ref = AccountRef.of(account) if isinstance(account, LedgerAccount) else account
            if not isinstance(ref, AccountRef):
                raise LedgerError(f"entry {self.key}: {account!r} is not a ledger account")
            if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
                raise LedgerError(
                    f"entry {self.key}: amounts are non-zero integers of fen, not {amount!r}"
                )
            refs.append(ref)
            totals[ref.currency] += amount
        off = {currency: total for currency, total in totals.items() if total}
        if off:
            detail = ", ".join(f"{total:+d} {currency}" for currency, total in sorted(off.items()))
            raise LedgerError(
                f"entry {self.key} does not balance: its lines sum to {detail} "
                "(debits are positive, credits negative; every currency must sum to zero)"
            )
        object.__setattr__(self, "refs", tuple(refs))

    def _signature(self, accounts: dict[AccountRef, LedgerAccount]) -> Counter[tuple[int, int]]:
        return Counter(
            (accounts[ref].pk, amount)
            for ref, (_a, amount) in zip(self.refs, self.lines, strict=True)
        )


def entry_post(
    *,
    key: str,
    lines: Sequence[Line],
    memo: str = "",
    tenant: Tenant | None = None,
    order_number: str = "",
    payment: Payment | None = None,
) -> JournalEntry:
    """Post one balanced entry of LINES, (account, signed fen) pairs; once per KEY.

    Raises LedgerError for unbalanced or malformed lines (before touching the database), and
    IdempotencyConflict when KEY already names an entry with other postings.
    """
    spec = EntrySpec(
        key=key,
        lines=lines,
        memo=memo,
        tenant=tenant,
        order_number=order_number,
        payment=payment,
    )
    return _entry_post(spec)


def _entry_post(spec: EntrySpec) -> JournalEntry:
    return entries_post_many(entries=[spec])[0]


def entries_post_many(*, entries: Sequence[EntrySpec]) -> list[JournalEntry]:
    """Post ENTRIES in one transaction with two INSERTs, whatever their number; returns them
    in input order.

    A key that is already posted returns its entry and posts nothing (IdempotencyConflict if
    its postings differ). A key another transaction is posting at the same moment makes this
    one wait on the unique index: if that one commits, its entry is returned; if it rolls back,
    this one posts. No savepoint is needed, so it costs nothing when there is no race.
    """
    by_key: dict[str, EntrySpec] = {}
    for spec in entries:
        if spec.key in by_key and by_key[spec.key].lines != spec.lines:
            raise IdempotencyConflict(f"key {spec.key!r} appears twice with other lines")
        by_key[spec.key] = spec
    if not by_key:
        return []
    with transaction.atomic():
        accounts = accounts_resolve(refs=(ref for spec in by_key.values() for ref in spec.refs))
        done = _entries_insert(list(by_key.values()), accounts)
        there = [key for key in by_key if key not in done]
        if there:
            for entry in JournalEntry.objects.filter(idempotency_key__in=there):
                done[entry.idempotency_key] = _same_or_conflict(
                    entry, by_key[entry.idempotency_key], accounts
                )
    return [done[spec.key] for spec in entries]


def _same_or_conflict(
    entry: JournalEntry, spec: EntrySpec, accounts: dict[AccountRef, LedgerAccount]
) -> JournalEntry:
    there = Counter(entry.postings.values_list("account_id", "amount"))
    if there != spec._signature(accounts):
        raise IdempotencyConflict(
            f"key {spec.key!r} already names journal entry {entry.pk} with other postings"
        )
    return entry


def _entries_insert(
    specs: Sequence[EntrySpec], accounts: dict[AccountRef, LedgerAccount]
) -> dict[str, JournalEntry]:
    """Insert the entries of SPECS whose keys are new, and their postings: two statements.

    Each statement takes one array per column and unnests it: building thousands of model
    instances for bulk_create costs more than the database's work, and this is the hot path of
    batched posting. The database's triggers and constraints check these rows as any other.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO billing_journalentry
                (idempotency_key, memo, tenant_id, order_number, payment_id, created_at)
            SELECT k, m, t, o, p, %s
              FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::varchar[], %s::bigint[])
                AS u(k, m, t, o, p)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING idempotency_key, id
            """,
            [
                now,
                [s.key for s in specs],
                [s.memo[:200] for s in specs],
                [s.tenant.pk if s.tenant else None for s in specs],
                [s.order_number for s in specs],
                [s.payment.pk if s.payment else None for s in specs],
            ],
        )
        ids = dict(cursor.fetchall())
        if not ids:
            return {}
        columns: tuple[list, list, list, list, list] = ([], [], [], [], [])
        entry_ids, account_ids, amounts, currencies, keys = columns
        for spec in specs:
            entry_id = ids.get(spec.key)
            if entry_id is None:
                continue
            for n, (ref, (_account, amount)) in enumerate(zip(spec.refs, spec.lines, strict=True)):
                entry_ids.append(entry_id)
                account_ids.append(accounts[ref].pk)
                amounts.append(amount)
                currencies.append(ref.currency)
                keys.append(f"{spec.key}#{n}")
        cursor.execute(
            """
            INSERT INTO billing_posting (entry_id, account_id, amount, currency, idempotency_key)
            SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[],
                                 %s::varchar[])
            """,
            list(columns),
        )
    return {
        s.key: JournalEntry(
            pk=ids[s.key],
            idempotency_key=s.key,
            memo=s.memo[:200],
            tenant=s.tenant,
            order_number=s.order_number,
            payment=s.payment,
            created_at=now,
        )
        for s in specs
        if s.key in ids
    }


# --- capture ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureLine:
    """One order line as the capture needs it: who supplies it, at what prices (unit fen)."""

    supplier_id: int
    quantity: int
    supply_price_fen: int
    retail_price_fen: int
    # The supplier's delivery charge the buyer paid for this line (put a per-supplier charge on
    # one of its lines); it is owed to the supplier in full.
    shipping_fen: int = 0
    # Coupon discounts on this line (whole line, fen): what the creator's own coupon took off
    # (comes out of her commission, at most `creator_discount_cap_fen`) and what a platform
    # coupon took off (the platform's marketing expense). The buyer paid retail × qty − both.
    creator_discount_fen: int = 0
    platform_discount_fen: int = 0


def creator_discount_cap_fen(lines: Sequence[CaptureLine]) -> list[int]:
    """Per line of LINES, the most a creator-funded coupon may take off it: her commission.

    The fee is computed on the list-price goods (see capture_split), so a coupon changes no one's
    share but its funder's; the cap is the line's commission with no discount at all.
    """
    plain = [replace(ln, creator_discount_fen=0, platform_discount_fen=0) for ln in lines]
    return [split.commission_fen for split in capture_split(lines=plain)]


def capture_key(payment: Payment) -> str:
    return f"payment:{payment.out_trade_no}:capture"


def fee_fen(*, goods_fen: int, take_rate_bp: int) -> int:
    """The platform's fee: TAKE_RATE_BP basis points of GOODS_FEN, rounded half up to the fen.

    Half up (not banker's) because it is the rule buyers, creators and 发票 all expect; it is
    computed once per order on the order's goods total, so an order is rounded exactly once.
    """
    return (goods_fen * take_rate_bp + 5_000) // 10_000


@dataclass(frozen=True)
class LineSplit:
    """One capture line's share of the order's money (fen, the line's whole quantity).

    supply_fen + fee_fen + commission_fen + creator_discount_fen is the line's list price ×
    quantity + shipping; the buyer paid that less both discounts (`paid_fen`, shipping included).
    """

    supply_fen: int  # supply price × quantity + the line's shipping: owed to the supplier
    fee_fen: int  # its share of the platform fee
    commission_fen: int  # the creator's commission on it, net of her own coupon
    creator_discount_fen: int = 0  # her coupon's share: out of her commission
    platform_discount_fen: int = 0  # the platform coupon's share: platform marketing expense

    @property
    def paid_fen(self) -> int:
        """What the buyer paid for the line (its shipping included)."""
        return self.supply_fen + self.fee_fen + self.commission_fen - self.platform_discount_fen


def _lines_check(lines: Sequence[CaptureLine]) -> None:
    """Refuse malformed capture lines before any figure is computed from them."""
    for line in lines:
        numbers = (
            line.quantity,
            line.supply_price_fen,
            line.retail_price_fen,
            line.shipping_fen,
            line.creator_discount_fen,
            line.platform_discount_fen,
        )
        if any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in numbers):
            raise LedgerError(f"capture line {line}: quantities and prices are fen, not negative")
        if line.quantity == 0:
            raise LedgerError(f"capture line {line}: quantity must be at least 1")
        if line.supply_price_fen > line.retail_price_fen:
            raise LedgerError(f"capture line {line}: sold below the supply price")
        if line.creator_discount_fen + line.platform_discount_fen > (
            line.retail_price_fen * line.quantity
        ):
            raise LedgerError(f"capture line {line}: discounts exceed the line's price")


def capture_split(
    *, lines: Sequence[CaptureLine], take_rate_bp: int | None = None
) -> list[LineSplit]:
    """Split the order's fee (as capture_post computes it) over LINES, in the same order.

    The fee is computed once on the order (`fee_fen`) and shared in proportion to each line's
    margin by largest remainder, so the shares sum exactly to the fee capture_post posts and no
    line's fee exceeds its own margin. Returns and settlement work per line from these figures;
    summing them gives back the capture entry to the fen.

    The fee rule with coupons: the fee is on the goods at their list prices (before any coupon),
    so a coupon moves money from its funder alone. A creator's coupon comes out of her
    commission on the line (margin − fee share − her discount), and may take at most all of it
    (`creator_discount_cap_fen`): a larger one raises LedgerError, never a negative commission.
    A platform coupon changes no one's share; the platform pays it as marketing expense, also
    when it exceeds the fee. The supplier gets its full supply price either way.
    """
    _lines_check(lines)
    rate = settings.VSTORE_PLATFORM_TAKE_RATE_BP if take_rate_bp is None else take_rate_bp
    margins = [(ln.retail_price_fen - ln.supply_price_fen) * ln.quantity for ln in lines]
    goods = sum(ln.retail_price_fen * ln.quantity for ln in lines)
    total_margin = sum(margins)
    fee = min(fee_fen(goods_fen=goods, take_rate_bp=rate), total_margin)
    if total_margin:
        shares = [fee * m // total_margin for m in margins]
        # Largest remainder first; ties go to the earlier line, so the split is deterministic.
        order = sorted(range(len(lines)), key=lambda i: (-(fee * margins[i] % total_margin), i))
        for i in order[: fee - sum(shares)]:
            shares[i] += 1
    else:
        shares = [0] * len(lines)
    splits = []
    for ln, margin, share in zip(lines, margins, shares, strict=True):
        commission = margin - share - ln.creator_discount_fen
        if commission < 0:
            raise LedgerError(
                f"capture line {ln}: the creator's coupon takes {ln.creator_discount_fen} fen, "
                f"more than her commission of {margin - share} fen on the line"
            )
        splits.append(
            LineSplit(
                supply_fen=ln.supply_price_fen * ln.quantity + ln.shipping_fen,
                fee_fen=share,
                commission_fen=commission,
                creator_discount_fen=ln.creator_discount_fen,
                platform_discount_fen=ln.platform_discount_fen,
            )
        )
    return splits


def capture_post(
    *,
    payment: Payment,
    lines: Sequence[CaptureLine],
    take_rate_bp: int | None = None,
) -> JournalEntry:
    """Post the entry for a captured PAYMENT of an order made of LINES; once per payment.

        debit  payment clearing (the payment's provider)   the amount paid
        debit  platform marketing expense                  Σ platform-funded discounts
        credit each supplier's payable                     Σ supply price × qty + its shipping
        credit the selling shop's commission (pending)     retail − supply − fee
        debit  the selling shop's commission (pending)     Σ creator-funded discounts
        credit platform revenue                            the fee

    The creator's coupons are their own posting on her pending commission (a debit in a capture
    entry), so her statement shows what her coupons cost apart from what she earned.

    The fee is TAKE_RATE_BP (default settings.VSTORE_PLATFORM_TAKE_RATE_BP) of the goods' list
    price total (`fee_fen`, before coupons: see capture_split for the rule), at most the
    creator's margin, so her commission is never negative; her own coupon on a line may take
    at most her commission on it (LedgerError otherwise). Single level: the commission goes to
    the selling shop (payment.tenant) and to no one else. Raises LedgerError if the payment is
    not captured or its amount is not the lines' total less their discounts.
    """
    key = capture_key(payment)
    # A retry after the take rate changed must return the first entry, not a conflict.
    existing = JournalEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    if payment.status not in (
        Payment.Status.CAPTURED,
        Payment.Status.PARTIALLY_REFUNDED,
        Payment.Status.REFUNDED,
    ):
        raise LedgerError(f"payment {payment.out_trade_no} is {payment.status}, not captured")
    if not lines:
        raise LedgerError(f"payment {payment.out_trade_no}: a capture needs the order's lines")
    rate = settings.VSTORE_PLATFORM_TAKE_RATE_BP if take_rate_bp is None else take_rate_bp
    if not isinstance(rate, int) or not 0 <= rate <= 10_000:
        raise LedgerError(f"take rate must be 0..10000 basis points, not {rate!r}")
    splits = capture_split(lines=lines, take_rate_bp=rate)

    payable: defaultdict[int, int] = defaultdict(int)
    for line, split in zip(lines, splits, strict=True):
        payable[line.supplier_id] += split.supply_fen
    paid = sum(split.paid_fen for split in splits)
    if paid != payment.amount:
        goods = sum(ln.retail_price_fen * ln.quantity for ln in lines)
        shipping = sum(ln.shipping_fen for ln in lines)
        off = sum(ln.creator_discount_fen + ln.platform_discount_fen for ln in lines)
        raise LedgerError(
            f"payment {payment.out_trade_no} is {payment.amount} fen but its lines total "
            f"{paid} fen (goods {goods} + shipping {shipping} − coupons {off})"
        )
    fee = sum(split.fee_fen for split in splits)
    creator_coupons = sum(split.creator_discount_fen for split in splits)
    commission = sum(split.commission_fen for split in splits) + creator_coupons
    marketing = sum(split.platform_discount_fen for split in splits)
    currency = payment.currency
    entry_lines: list[Line] = [(AccountRef.clearing(payment.provider, currency), payment.amount)]
    if marketing:
        entry_lines.append((AccountRef.platform_marketing(currency), marketing))
    entry_lines += [
        (AccountRef.supplier_payable(supplier_id, currency), -owed)
        for supplier_id, owed in sorted(payable.items())
        if owed
    ]
    if commission:
        shop = AccountRef.commission_pending(payment.tenant_id, currency)
        entry_lines.append((shop, -commission))
        if creator_coupons:
            entry_lines.append((shop, creator_coupons))
    if fee:
        entry_lines.append((AccountRef.platform_revenue(currency), -fee))
    return entry_post(
        key=key,
        lines=entry_lines,
        memo=f"capture {payment.out_trade_no} (take rate {rate} bp)",
        tenant=payment.tenant,
        order_number=payment.order_number,
        payment=payment,
    )


# --- commission rules (single level) ------------------------------------------------------------

SINGLE_LEVEL = (
    "VStore pays commission at a single level only: a shop's creator earns on her own shop's "
    "sales and nothing else (禁止传销条例 art. 7)."
)


def commission_rule_set(
    *,
    tenant: Tenant,
    beneficiary: Tenant | None = None,
    basis: str = CommissionRule.Basis.OWN_SHOP_SALES,
    recruitment_reward_fen: int = 0,
    membership_fee_fen: int = 0,
) -> CommissionRule:
    """Configure who earns the commission on TENANT's sales: only TENANT's own creator.

    Everything a multi-level scheme needs is refused with a ValidationError citing the rule:
    an override for another creator (BENEFICIARY another shop, or a BASIS such as a downline's
    sales), a cash reward for recruiting creators, a paid membership to open a shop.
    """
    if beneficiary is not None and beneficiary.pk != tenant.pk:
        raise ValidationError(
            f"Refused: commission on shop {tenant.pk}'s sales cannot go to shop "
            f"{beneficiary.pk} (an override on another creator's sales). {SINGLE_LEVEL}",
            code="commission_override",
        )
    if basis != CommissionRule.Basis.OWN_SHOP_SALES:
        raise ValidationError(
            f"Refused: commission basis {basis!r}; the only basis is the shop's own sales "
            f"(no override on recruited creators' or a team's sales). {SINGLE_LEVEL}",
            code="commission_basis",
        )
    if recruitment_reward_fen:
        raise ValidationError(
            "Refused: a cash reward for recruiting creators or shops. Fans may be rewarded "
            f"with coupons, never with cash for bringing others in. {SINGLE_LEVEL}",
            code="commission_recruitment_reward",
        )
    if membership_fee_fen:
        raise ValidationError(
            f"Refused: a paid membership (entry fee) to open a shop. {SINGLE_LEVEL}",
            code="commission_membership_fee",
        )
    rule, _created = CommissionRule.objects.get_or_create(
        tenant=tenant, defaults={"beneficiary": tenant, "basis": basis}
    )
    return rule

"""Make Redis and PostgreSQL agree about a flash sale after any crash, never overselling.

Redis gates, PostgreSQL records. What can go wrong, and what is done about it:

* Redis lost its data (restarted empty, failed over): the gate is rebuilt from PostgreSQL (its
  recorded grabs, units left, the registered fans) before any grab is answered again: an
  unloaded gate answers "unknown", so nothing sells meanwhile.
* The writer was killed mid-batch, or a message came twice: wins still on the stream are
  recorded (idempotently) by draining it.
* A win the gate holds that PostgreSQL never recorded (half-done): recorded if the sale has the
  unit, else given back in the gate.
* A grab PostgreSQL holds that the gate lost: taken in the gate too. A grab PostgreSQL expired
  that the gate still counts: released in the gate.
* Units left in the gate, per-fan counts, the sale's units_ordered: recomputed from the grabs.
* Won grabs past their pay deadline: expired; sales past their end: ended (units back).

Dry run (the management command without --apply) lists each problem and what would be done.
Order of reads matters: the gate's grabs are read before the stream is drained, and PostgreSQL
after, so a grab the gate knows is either recorded by then or truly half-done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from core.shop import current_schema

from . import gate
from .models import FlashGrab, FlashRegistration, FlashSale
from .services import (
    HELD,
    flash_grab_expire,
    flash_grab_record,
    flash_grabs_expire_due,
    flash_registrations_sync,
    flash_sale_end,
    flash_sale_start,
)
from .writer import flash_writer_drain

logger = logging.getLogger(__name__)

# Ended sales are looked at for this long (late payments and expiries after the end).
ENDED_WATCH = timedelta(days=2)


@dataclass(frozen=True)
class Finding:
    sale_id: int
    problem: str
    action: str


def _stream_unrecorded(*, schema: str, sale: FlashSale, recorded: set[str]) -> list[list[str]]:
    """Wins on the stream that PostgreSQL has not recorded: [fan, idem, won ms, deadline ms]."""
    out = []
    stream = gate.keys(schema, sale.pk)["s"]
    entries: Any = gate.client().xrange(stream, "-", "+")
    for _entry_id, fields in entries:
        parts = fields.get(b"g", b"").decode().split("|")
        if len(parts) == 4 and parts[1] not in recorded:
            out.append(parts)
    return out


def flash_reconcile(*, sale: FlashSale, apply: bool) -> list[Finding]:
    """Check SALE (in the current shop) and, with APPLY, repair it; the findings either way."""
    schema = current_schema()
    found: list[Finding] = []

    def note(problem: str, action: str) -> None:
        found.append(Finding(sale.pk, problem, action))

    now = timezone.now()
    running = sale.state in (FlashSale.State.SCHEDULED, FlashSale.State.LIVE)

    # 1. Redis lost the sale: rebuild it before anything else reads the gate.
    if running and not gate.gate_loaded(schema=schema, sale_id=sale.pk):
        note("the gate is empty (Redis lost its data)", "rebuild the gate from PostgreSQL")
        if apply:
            gate.gate_load(sale=sale, schema=schema)
            fans = list(
                FlashRegistration.objects.filter(sale=sale, fan__isnull=False).values_list(
                    "fan_id", flat=True
                )
            )
            gate.gate_registered_restore(schema=schema, sale_id=sale.pk, fan_ids=fans)

    loaded = gate.gate_loaded(schema=schema, sale_id=sale.pk)
    in_gate = gate.gate_idem_all(schema=schema, sale_id=sale.pk) if loaded else {}

    # 2. Wins on the stream not recorded yet (writer behind, killed, or a duplicate message).
    recorded = set(FlashGrab.objects.filter(sale=sale).values_list("idem_key", flat=True))
    waiting = _stream_unrecorded(schema=schema, sale=sale, recorded=recorded) if loaded else []
    if waiting:
        note(f"{len(waiting)} won grab(s) not yet in PostgreSQL", "record them (writer)")
        if apply:
            flash_writer_drain(schema=schema, sale_id=sale.pk)

    grabs = {
        g.idem_key: g
        for g in FlashGrab.objects.filter(sale=sale).only(
            "idem_key", "fan_id", "status", "pay_deadline"
        )
    }
    waiting_keys = {w[1] for w in waiting}

    # 3. Half-done: the gate counts a win PostgreSQL never recorded (and the stream does not
    # carry it, or carried it for a fan the writer could not record).
    # Recording early is harmless (the writer's insert of the same key then does nothing).
    for idem, (fan_id, deadline_ms, st) in in_gate.items():
        if st != "w" or idem in grabs or (idem in waiting_keys and not apply):
            continue
        note(f"grab {idem} won in Redis, not in PostgreSQL", "record it, or release its unit")
        if apply:
            won_ms = deadline_ms - sale.pay_minutes * 60_000
            made = flash_grab_record(
                sale=sale, fan_id=fan_id, idem_key=idem, won_ms=won_ms, deadline_ms=deadline_ms
            )
            if made is None:
                gate.gate_release(schema=schema, sale_id=sale.pk, fan_id=fan_id, idem_key=idem)

    # 4. PostgreSQL and the gate disagree about a recorded grab. The gate is read again after
    # PostgreSQL: every grab PostgreSQL recorded was a win in the gate before.
    if loaded:
        in_gate = gate.gate_idem_all(schema=schema, sale_id=sale.pk)
        for idem, grab in grabs.items():
            known = in_gate.get(idem)
            held = grab.status in HELD
            if held and known is None:
                note(f"grab {idem} held in PostgreSQL, not in Redis", "take its unit in Redis")
                if apply:
                    gate.gate_adopt(
                        schema=schema,
                        sale_id=sale.pk,
                        fan_id=grab.fan_id,
                        idem_key=idem,
                        deadline_ms=int(grab.pay_deadline.timestamp() * 1000),
                    )
            elif not held and known is not None and known[2] == "w":
                note(f"grab {idem} expired in PostgreSQL, held in Redis", "release it in Redis")
                if apply:
                    gate.gate_release(
                        schema=schema, sale_id=sale.pk, fan_id=grab.fan_id, idem_key=idem
                    )

    # 5. Units left and per-fan counts inside the gate.
    if loaded:
        left, expected = gate.gate_repair(schema=schema, sale_id=sale.pk, apply=False)
        if left != expected:
            note(
                f"Redis has {left} unit(s) left, its grabs say {expected}",
                "recompute units left in Redis",
            )
            if apply:
                gate.gate_repair(schema=schema, sale_id=sale.pk)

    # 6. The sale's count of recorded units.
    held_count = FlashGrab.objects.filter(sale=sale, status__in=HELD).count()
    sale.refresh_from_db()
    if sale.units_ordered != held_count:
        note(
            f"units_ordered is {sale.units_ordered}, the grabs hold {held_count}",
            "set units_ordered from the grabs",
        )
        if apply and held_count + sale.units_returned <= sale.quantity:
            FlashSale.objects.filter(pk=sale.pk).update(units_ordered=held_count)

    # 7. Time: grabs past their deadline, a sale past its start or end.
    due = FlashGrab.objects.filter(sale=sale, status=FlashGrab.Status.WON, pay_deadline__lte=now)
    if due.exists():
        note(f"{due.count()} grab(s) past their pay deadline", "expire them (units back)")
        if apply:
            flash_grabs_expire_due(sale_id=sale.pk, now=now)
    if sale.state == FlashSale.State.SCHEDULED and sale.starts_at <= now < sale.ends_at:
        note("the sale has started", "mark it live")
        if apply:
            flash_sale_start(sale_id=sale.pk)
    if running and sale.ends_at <= now:
        note("the sale is over", "end it and give the unsold units back to the SKU")
        if apply:
            flash_sale_end(sale_id=sale.pk, now=now)
    if apply and loaded:
        flash_registrations_sync(sale_id=sale.pk)
    return found


def flash_reconcile_shop(*, apply: bool) -> list[Finding]:
    """Every sale of the current shop that is running or ended lately."""
    since = timezone.now() - ENDED_WATCH
    sales = FlashSale.objects.filter(
        Q(state__in=[FlashSale.State.SCHEDULED, FlashSale.State.LIVE]) | Q(ended_at__gte=since)
    ).order_by("pk")
    found: list[Finding] = []
    for sale in sales:
        found += flash_reconcile(sale=sale, apply=apply)
    return found


def flash_expire_shop() -> int:
    """Expire due grabs of every sale with won grabs (the every-minute sweep)."""
    now = timezone.now()
    sale_ids = (
        FlashGrab.objects.filter(status=FlashGrab.Status.WON, pay_deadline__lte=now)
        .values("sale_id")
        .annotate(n=Count("pk"))
        .values_list("sale_id", flat=True)
    )
    expired = 0
    for sale_id in list(sale_ids):
        expired += flash_grabs_expire_due(sale_id=sale_id, now=now)
    return expired


__all__ = ["Finding", "flash_expire_shop", "flash_grab_expire", "flash_reconcile"]

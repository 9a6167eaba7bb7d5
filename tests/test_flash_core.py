"""Flash sales, the core: a Redis gate that never oversells, a writer that records every win
exactly once, grabs that expire back into the sale, and the stock that goes back at the end.

Real Redis and PostgreSQL throughout; the gate is called as the lean buy endpoint calls it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.models import SKU
from storefront.flash import gate
from storefront.flash.kind import FlashKind, flash_ticket
from storefront.flash.models import FlashGrab, FlashSale
from storefront.flash.selectors import flash_report
from storefront.flash.services import flash_grab_expire
from storefront.flash.tasks import (
    flash_grabs_expire_task,
    flash_reconcile_task,
    flash_sale_end_task,
    flash_tick_task,
    flash_writer_task,
)
from storefront.flash.writer import flash_writer_drain
from storefront.models import Fan, Order
from storefront.orders.services import (
    Want,
    order_expire,
    order_mark_paid,
    order_payment_start,
    order_place,
)

from .flash_helpers import fans_make, grab, sale_make
from .payments_helpers import post_notification
from .storefront_helpers import BUYER

pytestmark = [pytest.mark.usefixtures("catalog_media", "catalog_english")]

KIND = FlashKind()


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


def held(sale: FlashSale) -> int:
    return FlashGrab.objects.filter(sale=sale, status__in=["won", "ordered", "paid"]).count()


def checkout(shop, sale: FlashSale, fan, idem: str) -> Order:
    """What the checkout page does with the won page's ticket, for the signed-in FAN."""
    ticket = flash_ticket(sale_id=sale.pk, fan_id=fan.pk, idem_key=idem, schema=shop.schema_name)
    claim = KIND.claim_from_ticket(ticket=ticket.partition(":")[2], fan=fan)
    return order_place(
        wants=[Want(claim.item_id, claim.quantity)],
        buyer=dataclasses.replace(BUYER, mobile=fan.mobile),
        fan=fan,
        campaign=claim,
    )


# --- the rush -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_200_buyers_at_once_for_50_units_win_exactly_50_and_the_sku_is_untouched(shops):
    sale = sale_make(shops.a, quantity=50, stock=80)
    with tenant_context(shops.a):
        fans = fans_make(200)
        sku_after_scheduling = stock(sale.item.sku_id)

    def attempt(fan_id: int) -> str:
        return grab(shops.a, sale, fan_id).status

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(attempt, [f.pk for f in fans]))

    assert answers.count("won") == 50
    assert answers.count("sold_out") == 150
    with tenant_context(shops.a):
        assert flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk, batch=16) == 50
        sale.refresh_from_db()
        assert FlashGrab.objects.filter(sale=sale).count() == 50
        assert FlashGrab.objects.filter(sale=sale).values("fan").distinct().count() == 50
        assert sale.units_ordered == 50
        # Scheduling took the 50 units; the rush never touched the SKU's row.
        assert sku_after_scheduling == 30 == stock(sale.item.sku_id)
    assert gate.gate_status(schema=shops.a.schema_name, sale_id=sale.pk)["state"] == "sold_out"


@pytest.mark.django_db
def test_the_per_buyer_limit_holds_across_two_tabs(shops):
    sale = sale_make(shops.a, quantity=10, limit=2)
    with tenant_context(shops.a):
        (fan,) = fans_make(1)
    tabs = [grab(shops.a, sale, fan.pk, f"tab-{n}") for n in range(4)]
    assert [t.status for t in tabs] == ["won", "won", "limit", "limit"]
    with tenant_context(shops.a):
        flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk)
        assert FlashGrab.objects.filter(sale=sale, fan=fan).count() == 2


@pytest.mark.django_db
def test_the_same_idempotency_key_ten_times_is_one_grab_and_one_order(shops):
    sale = sale_make(shops.a, quantity=5)
    with tenant_context(shops.a):
        (fan,) = fans_make(1)
    answers = [grab(shops.a, sale, fan.pk, "same-key") for _ in range(10)]
    assert [a.duplicate for a in answers] == [False] + [True] * 9
    assert {a.status for a in answers} == {"won"}
    assert len({a.pay_deadline_ms for a in answers}) == 1
    assert gate.gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 4
    with tenant_context(shops.a):
        # Checkout before the writer: the grab is recorded from the gate, once.
        order = checkout(shops.a, sale, fan, "same-key")
        assert order.goods_fen == 6600 and order.lines.get().campaign == f"flash:{sale.pk}"
        flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk)
        for _ in range(3):
            with pytest.raises(ValidationError, match="already in an order"):
                checkout(shops.a, sale, fan, "same-key")
        assert FlashGrab.objects.filter(sale=sale).count() == 1
        assert Order.objects.filter(lines__campaign=f"flash:{sale.pk}").count() == 1
        sale.refresh_from_db()
        assert sale.units_ordered == 1
        # The order's deadline is the grab's (15 minutes), not the shop's usual window.
        grab_row = FlashGrab.objects.get(sale=sale)
        assert (grab_row.status, grab_row.order_number) == ("ordered", order.number)
        assert order.pay_deadline == grab_row.pay_deadline


@pytest.mark.django_db
def test_an_unpaid_grab_expires_through_the_task_and_a_later_buyer_gets_its_unit(shops):
    sale = sale_make(shops.a, quantity=1)
    with tenant_context(shops.a):
        first, later = fans_make(2)
    assert grab(shops.a, sale, first.pk).status == "won"
    assert grab(shops.a, sale, later.pk).status == "sold_out"
    with tenant_context(shops.a):
        flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk)
        FlashGrab.objects.filter(sale=sale).update(pay_deadline=timezone.now() - timedelta(1))
        with django_on_commit():
            assert flash_grabs_expire_task.apply(kwargs={"sale_id": sale.pk}).get() == 1
            assert flash_grabs_expire_task.apply(kwargs={"sale_id": sale.pk}).get() == 0
        sale.refresh_from_db()
        assert sale.units_ordered == 0
    assert gate.gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 1
    again = grab(shops.a, sale, later.pk, "later-tab")
    assert again.status == "won"
    with tenant_context(shops.a):
        order = checkout(shops.a, sale, later, "later-tab")
        assert order.fan_id == later.pk


@pytest.mark.django_db
def test_an_order_not_paid_in_time_gives_its_grab_back_to_the_sale(shops):
    sale = sale_make(shops.a, quantity=1)
    with tenant_context(shops.a):
        (fan,) = fans_make(1)
        assert grab(shops.a, sale, fan.pk, "k1").status == "won"
        order = checkout(shops.a, sale, fan, "k1")
        with django_on_commit():
            Order.objects.filter(pk=order.pk).update(pay_deadline=timezone.now() - timedelta(1))
            order_expire(order=Order.objects.get(pk=order.pk))
        assert FlashGrab.objects.get(sale=sale).status == "expired"
        sale.refresh_from_db()
        assert sale.units_ordered == 0
        assert stock(sale.item.sku_id) == 99  # the unit went back into the sale, not the SKU
    assert gate.gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 1


@pytest.mark.django_db
def test_the_writer_task_records_the_wins_and_only_one_chain_runs_per_sale(shops):
    sale = sale_make(shops.a, quantity=5)
    with tenant_context(shops.a):
        fans = fans_make(4)
    for fan in fans[:3]:
        assert grab(shops.a, sale, fan.pk).status == "won"
    with tenant_context(shops.a):
        assert flash_writer_task.apply(kwargs={"sale_id": sale.pk}).get() == 3
        # A second chain for the same sale stops at once (the first sent itself again).
        assert grab(shops.a, sale, fans[3].pk).status == "won"
        assert flash_writer_task.apply(kwargs={"sale_id": sale.pk}).get() == 0
        assert FlashGrab.objects.filter(sale=sale).count() == 3
    gate.client().delete(gate.keys(shops.a.schema_name, sale.pk)["m"][:-2] + ":wl")


@pytest.mark.django_db
def test_a_paid_grab_counts_in_the_report_at_the_flash_price(shops):
    sale = sale_make(shops.a, quantity=2)
    with tenant_context(shops.a):
        buyer, lazy = fans_make(2)
    gate.gate_visit(schema=shops.a.schema_name, sale_id=sale.pk, visitor="v1")
    assert grab(shops.a, sale, buyer.pk, "pay-me").status == "won"
    assert grab(shops.a, sale, lazy.pk, "never-pays").status == "won"
    assert grab(shops.a, sale, lazy.pk, "too-late").status == "limit"
    with tenant_context(shops.a):
        order = checkout(shops.a, sale, buyer, "pay-me")
        payment = order_payment_start(order=order, provider="sandbox", return_url="")
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        assert order_mark_paid(order_number=order.number, payment_id=payment.pk).status == "paid"
        flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk)
        FlashGrab.objects.filter(idem_key="never-pays").update(
            pay_deadline=timezone.now() - timedelta(minutes=1)
        )
        flash_grabs_expire_task.apply(kwargs={"sale_id": sale.pk}).get()
        assert FlashGrab.objects.get(idem_key="pay-me").status == "paid"
        report = flash_report(sale=FlashSale.objects.get(pk=sale.pk))
    connection.set_schema_to_public()
    assert (report.attempts, report.won, report.paid, report.expired) == (3, 2, 1, 1)
    assert (report.visitors, report.gmv_fen) == (1, 6600)
    assert report.sell_out is not None  # both units went, before one came back


# --- crashes ------------------------------------------------------------------------------------


def writer_killed_mid_batch(schema: str, sale_id: int, batch: int) -> str:
    """Run the writer in a child process (forked: no second Django start-up, so it takes well
    under a second) that stops inside its first batch's transaction, after the insert and
    before the commit, and SIGKILL it there. Returns what the child said before it died."""
    from django.db import connections

    from storefront.flash import writer

    read_end, write_end = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own database connection, then the writer
        try:
            for conn in connections.all(initialized_only=True):
                conn.connection = None  # the parent's socket is not ours to close
                conn.search_path_set_schemas = None  # a new connection: set it again
            real = writer._record

            def held_record(**kw):
                n = real(**kw)
                os.write(write_end, f"HOLD {n}\n".encode())
                os.read(go_read, 1)  # never comes: killed here
                return n

            writer._record = held_record
            writer.flash_writer_drain(schema=schema, sale_id=sale_id, batch=batch)
        finally:
            os._exit(0)
    os.close(write_end)
    said = os.read(read_end, 100).decode()
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(read_end)
    os.close(go_read)
    os.close(go_write)
    return said


@pytest.fixture
def flash_tasks_held():
    """The flash tasks this test sends go to a queue no worker reads. Committed rows run their
    on-commit hooks, and the session's Celery worker (started by earlier tests) would run the
    sale's writer chain and record the wins this test means to leave on the stream."""
    from config.celery import app

    def route(routes) -> None:
        app.conf.task_routes = routes
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)  # a cached_property built from the routes

    before = app.conf.task_routes
    route({"storefront.flash.tasks.*": {"queue": HELD_QUEUE}})
    yield
    route(before)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(HELD_QUEUE)


HELD_QUEUE = "vstore-test-held"


@pytest.fixture
def committed_sale(committed_db, shops, flash_tasks_held):
    """Sales whose rows are committed (a child process must see them); removed afterwards
    with their grabs, orders and fans, so later tests in shop A start without them."""
    made: list[FlashSale] = []
    yield made
    with tenant_context(shops.a):
        for sale in made:
            fan_ids = list(FlashGrab.objects.filter(sale=sale).values_list("fan_id", flat=True))
            orders = Order.objects.filter(lines__campaign=f"flash:{sale.pk}")
            for order in orders:
                order.lines.all().delete()
            Order.objects.filter(fan_id__in=fan_ids).delete()
            FlashGrab.objects.filter(sale=sale).delete()
            FlashSale.objects.filter(pk=sale.pk).delete()
            Fan.objects.filter(pk__in=fan_ids).delete()
    connection.set_schema_to_public()


def test_the_writer_killed_mid_batch_and_restarted_records_every_win_exactly_once(
    shops, committed_sale
):
    sale = sale_make(shops.a, quantity=30)
    committed_sale.append(sale)
    with tenant_context(shops.a):
        fans = fans_make(30)
    for fan in fans:
        assert grab(shops.a, sale, fan.pk).status == "won"
    # A duplicate message on the stream, as a redelivery would leave it.
    stream = gate.keys(shops.a.schema_name, sale.pk)["s"]
    first = gate.client().xrange(stream, count=1)[0][1]
    gate.client().xadd(stream, first)

    said = writer_killed_mid_batch(shops.a.schema_name, sale.pk, 10)
    assert said.startswith("HOLD 10"), said
    with tenant_context(shops.a):
        assert not FlashGrab.objects.filter(sale=sale).exists()  # its batch never committed
        # Restarted: the killed writer's pending batch first, then the rest, each once.
        assert flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk, batch=10) == 30
        assert flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk) == 0
        assert FlashGrab.objects.filter(sale=sale).count() == 30
        fan_ids = FlashGrab.objects.filter(sale=sale).values_list("fan_id", flat=True)
        assert sorted(fan_ids) == sorted(f.pk for f in fans)
        sale.refresh_from_db()
        assert sale.units_ordered == 30
        order = checkout(shops.a, sale, fans[0], FlashGrab.objects.get(fan=fans[0]).idem_key)
        assert Order.objects.filter(lines__campaign=f"flash:{sale.pk}").count() == 1
        assert order.fan_id == fans[0].pk
    connection.set_schema_to_public()


@pytest.mark.django_db
def test_redis_emptied_mid_sale_is_rebuilt_by_reconciliation_and_nothing_is_oversold(shops):
    sale = sale_make(shops.a, quantity=10, limit=1)
    with tenant_context(shops.a):
        fans = fans_make(16)
    for fan in fans[:6]:
        assert grab(shops.a, sale, fan.pk).status == "won"
    with tenant_context(shops.a):
        flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk)
    # Redis restarts empty: the gate answers nothing until it is rebuilt.
    gate.client().delete(*gate.keys(shops.a.schema_name, sale.pk).values())
    assert grab(shops.a, sale, fans[6].pk).status == "unknown"

    out = StringIO()
    with tenant_context(shops.a), pytest.raises(SystemExit):
        call_command("flash_reconcile", schema=shops.a.schema_name, stdout=out)
    assert "the gate is empty" in out.getvalue() and "would" in out.getvalue()
    connection.set_schema_to_public()
    assert not gate.gate_loaded(schema=shops.a.schema_name, sale_id=sale.pk)  # a dry run

    with tenant_context(shops.a):
        assert flash_reconcile_task.apply(kwargs={"sale_id": sale.pk}).get() >= 1
    assert gate.gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 4
    # The six winners keep their grabs (a retry is the same win, the limit still holds) ...
    assert grab(shops.a, sale, fans[0].pk).status == "limit"
    # ... and the ten others race for the four units left.
    answers = [grab(shops.a, sale, fan.pk).status for fan in fans[6:]]
    assert answers.count("won") == 4 and answers.count("sold_out") == 6
    with tenant_context(shops.a):
        flash_writer_drain(schema=shops.a.schema_name, sale_id=sale.pk)
        sale.refresh_from_db()
        assert held(sale) == 10 == sale.units_ordered
        out = StringIO()
        call_command("flash_reconcile", schema=shops.a.schema_name, stdout=out)
        assert "agree" in out.getvalue()


@pytest.mark.django_db
def test_reconciliation_finishes_or_releases_half_done_grabs(shops):
    sale = sale_make(shops.a, quantity=3)
    with tenant_context(shops.a):
        a, b = fans_make(2)
    assert grab(shops.a, sale, a.pk, "half-a").status == "won"
    assert grab(shops.a, sale, b.pk, "half-b").status == "won"
    # The stream lost both wins (acknowledged by a writer that died before its commit).
    stream = gate.keys(shops.a.schema_name, sale.pk)["s"]
    gate.client().delete(stream)
    with tenant_context(shops.a):
        # B's fan is gone from this shop's records: her win cannot be recorded, only released.
        Fan.objects.filter(pk=b.pk).delete()
        assert flash_reconcile_task.apply(kwargs={"sale_id": sale.pk}).get() == 2
        assert list(FlashGrab.objects.filter(sale=sale).values_list("idem_key", flat=True)) == [
            "half-a"
        ]
        sale.refresh_from_db()
        assert sale.units_ordered == 1
    assert gate.gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 2
    assert gate.gate_idem(schema=shops.a.schema_name, sale_id=sale.pk, idem_key="half-b")[2] == "x"


# --- the end ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_unsold_rest_goes_back_to_the_sku_at_the_end_exactly_once(shops):
    sale = sale_make(shops.a, quantity=10, stock=25)
    with tenant_context(shops.a):
        fans = fans_make(3)
        assert stock(sale.item.sku_id) == 15
    for fan in fans:
        grab(shops.a, sale, fan.pk)
    with tenant_context(shops.a):
        # Before its end the task changes nothing.
        assert flash_sale_end_task.apply(kwargs={"sale_id": sale.pk}).get() == 0
        FlashSale.objects.filter(pk=sale.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
        # The end records the waiting wins first, then gives back 10 − 3, once.
        assert flash_sale_end_task.apply(kwargs={"sale_id": sale.pk}).get() == 7
        assert flash_sale_end_task.apply(kwargs={"sale_id": sale.pk}).get() == 0
        flash_reconcile_task.apply(kwargs={"sale_id": sale.pk}).get()
        sale.refresh_from_db()
        assert (sale.state, sale.units_ordered, sale.units_returned) == ("ended", 3, 7)
        assert stock(sale.item.sku_id) == 22
        # A grab that expires after the end gives its unit to the SKU, once.
        g = FlashGrab.objects.filter(sale=sale).first()
        assert flash_grab_expire(grab_id=g.pk, force=True)
        assert not flash_grab_expire(grab_id=g.pk, force=True)
        assert stock(sale.item.sku_id) == 23
        sale.refresh_from_db()
        assert (sale.units_ordered, sale.units_returned) == (2, 8)


@pytest.mark.django_db
def test_the_beat_tick_runs_in_every_live_shop_and_ends_what_is_due(shops):
    sale_a = sale_make(shops.a, quantity=4, stock=10)
    sale_b = sale_make(shops.b, quantity=2, stock=10)
    with tenant_context(shops.a):
        FlashSale.objects.filter(pk=sale_a.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    connection.set_schema_to_public()
    result = flash_tick_task.apply()  # as beat sends it: from the public schema
    assert result.successful(), result.traceback
    with tenant_context(shops.a):
        sale_a.refresh_from_db()
        assert (sale_a.state, sale_a.units_returned) == ("ended", 4)
        assert stock(sale_a.item.sku_id) == 10
    with tenant_context(shops.b):
        sale_b.refresh_from_db()
        assert sale_b.state == "live"


# --- who may buy --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_registered_only_sale_refuses_fans_who_did_not_register(shops):
    sale = sale_make(shops.a, quantity=5, registered_only=True)
    with tenant_context(shops.a):
        registered, other = fans_make(2)
    assert gate.gate_register(schema=shops.a.schema_name, sale_id=sale.pk, fan_id=registered.pk)
    assert grab(shops.a, sale, other.pk).status == "not_registered"
    assert grab(shops.a, sale, registered.pk).status == "won"


@pytest.mark.django_db
def test_the_gate_is_closed_before_the_start_and_after_the_end(shops):
    sale = sale_make(shops.a, quantity=5, started=False)
    with tenant_context(shops.a):
        (fan,) = fans_make(1)
    assert grab(shops.a, sale, fan.pk).status == "not_open"
    status = gate.gate_status(schema=shops.a.schema_name, sale_id=sale.pk)
    assert status["state"] == "upcoming" and status["left"] == 5
    late = int(sale.ends_at.timestamp() * 1000) + 1
    assert grab(shops.a, sale, fan.pk, now_ms=late).status == "closed"


@pytest.mark.django_db
def test_a_sale_in_shop_a_is_invisible_in_shop_b(shops):
    sale = sale_make(shops.a, quantity=5)
    with tenant_context(shops.a):
        (fan_a,) = fans_make(1)
        assert grab(shops.a, sale, fan_a.pk, "iso").status == "won"
        ticket = flash_ticket(sale_id=sale.pk, fan_id=fan_a.pk, idem_key="iso")
    # The same ids in shop B's schema reach another gate: nothing there.
    assert grab(shops.b, sale, fan_a.pk).status == "unknown"
    assert gate.gate_status(schema=shops.b.schema_name, sale_id=sale.pk)["state"] == "ended"
    with tenant_context(shops.b):
        assert not FlashSale.objects.filter(pk=sale.pk).exists()
        (fan_b,) = fans_make(1)
        fan_b.pk = fan_a.pk  # even a fan of B with the same id
        with pytest.raises(ValidationError, match="not valid"):
            KIND.claim_from_ticket(ticket=ticket.partition(":")[2], fan=fan_b)


@pytest.mark.django_db
def test_forged_tampered_and_foreign_tickets_are_refused(shops):
    sale = sale_make(shops.a, quantity=5)
    with tenant_context(shops.a):
        owner, thief = fans_make(2)
        assert grab(shops.a, sale, owner.pk, "mine").status == "won"
        token = flash_ticket(sale_id=sale.pk, fan_id=owner.pk, idem_key="mine").partition(":")[2]
        forged = signing.dumps(["shop_a", sale.pk, owner.pk, "mine"], salt="other.salt")
        unwon = flash_ticket(sale_id=sale.pk, fan_id=owner.pk, idem_key="never-won")
        for bad, fan in (
            (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), owner),
            (forged, owner),
            ("", owner),
            ("\x00" * 40, owner),
            (unwon.partition(":")[2], owner),
            (token, thief),  # someone else's grab
        ):
            with pytest.raises(ValidationError):
                KIND.claim_from_ticket(ticket=bad, fan=fan)
        with pytest.raises(ValidationError, match="Sign in"):
            KIND.claim_from_ticket(ticket=token, fan=None)
        assert KIND.claim_from_ticket(ticket=token, fan=owner).unit_price_fen == 6600


@pytest.mark.django_db
def test_bad_input_never_reaches_the_gate_as_a_grab(shops):
    sale = sale_make(shops.a, quantity=5)
    for schema, sale_id, fan_id, idem in (
        ("shop_a;DEL *", sale.pk, 1, "x"),
        (shops.a.schema_name, sale.pk, 1, "x" * 65),
        (shops.a.schema_name, sale.pk, 1, "a|b"),
        (shops.a.schema_name, sale.pk, -1, "x"),
        (shops.a.schema_name, sale.pk, 10**30, "x"),
        (shops.a.schema_name, "1", 1, "x"),
    ):
        got = gate.gate_grab(schema=schema, sale_id=sale_id, fan_id=fan_id, idem_key=idem)
        assert got.status == "unknown"
    assert gate.gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 5


class django_on_commit:
    """Run the on-commit callbacks of what the block does (the test's transaction never
    commits), as the real commit would."""

    def __enter__(self):
        from django.test import TestCase

        self._ctx = TestCase.captureOnCommitCallbacks(execute=True)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_uuid_idem_keys_fit_the_gate():
    assert gate.IDEM.match(uuid.uuid4().hex) and gate.IDEM.match(str(uuid.uuid4()))

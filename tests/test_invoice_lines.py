"""A 发票 states what the buyer paid: coupons come off its lines, to the fen."""

from __future__ import annotations

from storefront.aftersale.invoices import invoice_lines
from storefront.models import OrderLine


def _line(**fields) -> OrderLine:
    values = {"title": "婴儿米粉", "option_label": "原味", "quantity": 3, "retail_price_fen": 3_333}
    return OrderLine(**{**values, **fields})


def test_invoice_lines_state_the_price_paid_after_both_coupons():
    paid = _line(creator_discount_fen=100, platform_discount_fen=1)  # 9999 - 101 = 9898
    lines = invoice_lines(lines=[paid], shipping_fen=1_200)

    goods = [(ln.quantity, ln.unit_price_fen) for ln in lines[:-1]]
    # 9898 over 3 units: 3299 each and one unit a fen dearer, never a fraction of a fen.
    assert goods == [(2, 3_299), (1, 3_300)]
    assert sum(ln.amount_fen for ln in lines[:-1]) == 9_898
    assert (lines[-1].amount_fen, lines[-1].tax_rate_bp) == (1_200, 900)


def test_a_line_without_coupons_is_one_invoice_line_at_its_price():
    lines = invoice_lines(lines=[_line()], shipping_fen=0)
    assert [(ln.name, ln.quantity, ln.unit_price_fen) for ln in lines] == [
        ("婴儿米粉 原味", 3, 3_333)
    ]


def test_a_line_paid_entirely_by_coupons_is_invoiced_at_nothing():
    lines = invoice_lines(lines=[_line(quantity=1, platform_discount_fen=3_333)], shipping_fen=0)
    assert [(ln.quantity, ln.unit_price_fen) for ln in lines] == [(1, 0)]

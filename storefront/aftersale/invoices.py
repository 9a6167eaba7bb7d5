"""What a buyer's 发票 lists for her order: the goods at the price she paid, and the delivery."""

from __future__ import annotations

from django.utils.translation import gettext as _

from billing.documents.services import InvoiceLine
from storefront.models import Order, OrderLine


def invoice_lines_for(order: Order) -> list[InvoiceLine]:
    return invoice_lines(lines=list(order.lines.all()), shipping_fen=order.shipping_fen)


def invoice_lines(*, lines: list[OrderLine], shipping_fen: int) -> list[InvoiceLine]:
    """The 发票's lines: what she paid for each line, after coupons (an invoice states the price
    paid). A line whose paid amount does not split evenly over its units is written as two lines
    of the same goods, one fen apart in unit price, so every unit price is whole fen and the
    lines add up exactly to what she paid."""
    result: list[InvoiceLine] = []
    for line in lines:
        name = f"{line.title} {line.option_label}".strip()[:100]
        unit, dearer = divmod(line.paid_fen, line.quantity)
        if line.quantity - dearer:
            result.append(
                InvoiceLine(name=name, quantity=line.quantity - dearer, unit_price_fen=unit)
            )
        if dearer:
            result.append(InvoiceLine(name=name, quantity=dearer, unit_price_fen=unit + 1))
    if shipping_fen:
        delivery = _("Delivery")
        result.append(
            InvoiceLine(name=delivery, quantity=1, unit_price_fen=shipping_fen, tax_rate_bp=900)
        )
    return result

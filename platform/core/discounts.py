"""The one rule for what a coupon takes off (creator coupons in storefront's pricing, platform
coupons in billing): both layers call it, so the arithmetic cannot drift apart."""

from __future__ import annotations


def coupon_off_fen(
    *,
    kind: str,
    goods_fen: int,
    amount_fen: int = 0,
    percent_off: int | None = 0,
    max_off_fen: int | None = None,
    min_goods_fen: int = 0,
) -> int:
    """What a coupon takes off GOODS_FEN of goods in its scope, before any cap of the caller.

    KIND "percent" takes PERCENT_OFF percent (rounded down to the fen), at most MAX_OFF_FEN;
    any other kind ("fixed", "threshold") takes AMOUNT_FEN. Nothing below MIN_GOODS_FEN (满 X)
    or with no goods in scope.
    """
    if goods_fen <= 0 or goods_fen < min_goods_fen:
        return 0
    if kind == "percent":
        off = goods_fen * (percent_off or 0) // 100
        return off if max_off_fen is None else min(off, max_off_fen)
    return amount_fen

"""core.money: the one formatter and parser of amounts; integer fen, never floats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.money import yuan, yuan_parse, yuan_plain

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("fen", "shown", "plain"),
    [
        (0, "¥0.00", "0.00"),
        (5, "¥0.05", "0.05"),
        (12345, "¥123.45", "123.45"),
        (123456789, "¥1,234,567.89", "1234567.89"),
        (-5, "-¥0.05", "-0.05"),
        # 2^53 + 1 fen: a float would round it.
        (9007199254740993, "¥90,071,992,547,409.93", "90071992547409.93"),
    ],
)
def test_amounts_are_shown_exactly(fen, shown, plain):
    assert yuan(fen) == shown
    assert yuan_plain(fen) == plain
    assert yuan(fen, symbol=False) == shown.replace("¥", "")


def test_nothing_is_shown_as_a_dash_and_an_empty_input():
    assert yuan(None) == "—" and yuan_plain(None) == ""


@pytest.mark.parametrize(("text", "fen"), [("0", 0), ("88.8", 8880), ("0.05", 5), ("12.30", 1230)])
def test_yuan_are_read_exactly(text, fen):
    assert yuan_parse(text) == fen


@pytest.mark.parametrize("text", ["", "-1", "1e9", "1,000", "1.234", "NaN", "Infinity", "１２"])
def test_anything_but_plain_yuan_is_refused(text):
    with pytest.raises(ValueError):
        yuan_parse(text)


FLOAT_MONEY = re.compile(r"_fen\s*/\s*100\b|\b(fen|amount)\s*/\s*100\b")


def test_no_module_formats_money_through_a_float():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("storefront", "cms", "billing", "platform", "tenants")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and FLOAT_MONEY.search(path.read_text())
    ]
    assert offenders == []

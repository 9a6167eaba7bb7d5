"""core.contact: one person typed two ways is one contact."""

from __future__ import annotations

import pytest

from core.contact import Contact, contact_parse, mobile_normalise

SPELLINGS = ["13800138000", "138 0013 8000", "138-0013-8000", "+8613800138000"]


@pytest.mark.parametrize("typed", SPELLINGS)
def test_common_spellings_of_a_mobile_are_one_number(typed):
    assert mobile_normalise(typed) == "13800138000"
    assert contact_parse(typed) == Contact(mobile="13800138000")


@pytest.mark.parametrize("typed", ["12800138000", "1380013800", "138001380001", "abc", ""])
def test_what_is_not_a_mainland_mobile_is_refused(typed):
    assert mobile_normalise(typed) is None
    assert contact_parse(typed) is None


def test_an_e_mail_is_kept_lower_case_and_a_bad_one_refused():
    assert contact_parse("  Mama@Example.COM ") == Contact(email="mama@example.com")
    assert contact_parse("mama@") is None
    assert contact_parse("mama@example.com").login == "mama@example.com"

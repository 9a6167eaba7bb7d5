"""Looking up DNS TXT records, behind an interface so verification can be tested and swapped.

This module is the only one that imports dnspython.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class TxtResolver(Protocol):
    def txt_records(self, name: str) -> list[str]:
        """The TXT strings published at NAME; empty when there are none or NAME does not exist."""
        ...


class DnsPythonResolver:
    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout

    def txt_records(self, name: str) -> list[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=self.timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return []
        except dns.exception.Timeout:
            return []
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def txt_resolver() -> TxtResolver:
    return import_string(settings.VSTORE_TXT_RESOLVER)()

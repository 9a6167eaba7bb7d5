"""Password hashing tuned for this platform's web hosts."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idOwaspHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's first recommended configuration: 46 MiB, one pass, one lane.

    Django's default asks for 8 lanes; on a 2-core host they run two at a time, so the hash
    takes ~0.2 s of wall time (measured) for no extra strength against an attacker's GPUs,
    and sign-up and login wait for it. This costs ~0.09 s. Hashes keep the `argon2` prefix and
    record their parameters, so older ones verify and are re-hashed on the next login.
    """

    time_cost = 1
    memory_cost = 47104
    parallelism = 1

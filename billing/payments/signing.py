"""RSA (SHA256withRSA, PKCS#1 v1.5) and money helpers shared by the providers' modules.

All three providers sign with SHA256withRSA and base64 (WeChat Pay v3 and Alipay RSA2 by their
documentation, the sandbox to match them), so the verification code is the same everywhere.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from decimal import Decimal
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.money import yuan_plain

from .base import BadSignature, MalformedNotification

PrivateKey = rsa.RSAPrivateKey
PublicKey = rsa.RSAPublicKey


def private_key_load(pem: str | bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(
        pem.encode() if isinstance(pem, str) else pem, password=None
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def public_key_load(pem: str | bytes) -> PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    if b"BEGIN CERTIFICATE" in data:
        # A platform certificate (the older WeChat Pay mode) carries the key too.
        from cryptography import x509

        key: object = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def private_key_generate() -> PrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(key: PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_key_file_ensure(path: Path) -> PrivateKey:
    """The key in `path`, made on first use. Safe when two processes race to make it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(private_key_pem(private_key_generate()))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return private_key_load(path.read_bytes())


def sign(key: PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(key: PublicKey, message: bytes, signature: str) -> None:
    """Raise BadSignature unless `signature` (base64) signs `message`."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSignature("signature is not base64") from exc
    try:
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise BadSignature("signature does not match") from exc


_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def unix_seconds_valid(text: str) -> bool:
    """ASCII digits of a plausible size: str.isdigit() also takes "²" and "١", which int()
    refuses, and int() refuses more than 4,300 digits."""
    return bool(_UNIX_SECONDS.fullmatch(text))


_YUAN = re.compile(r"^(0|[1-9]\d{0,12})(\.\d{1,2})?$")


def yuan_to_fen(text: str) -> int:
    """ "88.8" → 8880, strictly: no signs, exponents or a third decimal."""
    if not _YUAN.match(text or ""):
        raise MalformedNotification(f"not an amount in yuan: {text!r}")
    return int(Decimal(text) * 100)


def fen_to_yuan(fen: int) -> str:
    return yuan_plain(fen)

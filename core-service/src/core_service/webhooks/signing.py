"""The ``ChatSphere-Signature`` header: Stripe's scheme, HMAC-SHA256 over ``"<t>.<body>"``."""

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["SIGNATURE_HEADER", "encode_body", "signature_header"]

SIGNATURE_HEADER = "ChatSphere-Signature"


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The bytes sent (and signed): compact JSON, the same for every try of a delivery."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signature_header(secret: str, body: bytes, *, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under secret>``.

    The time is signed with the body so that a receiver can refuse old, replayed requests.
    """
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"

"""Deterministic identifiers: the listing id (message key) and ledger event ids."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid

# Fixed namespace of the ledger's uuid5 event ids; never change it.
LEDGER_NAMESPACE = uuid.UUID("6f1c2b1e-58a4-5e0f-9a57-3d0b5c1f2a77")

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"\s+")


def clean_text(value: str) -> str:
    """NFC, zero-width characters removed, surrounding whitespace stripped."""
    if not value.isascii():
        value = value.translate(_INVISIBLE)
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
    return value.strip()


def normalize_case_number(case_number: str) -> str:
    """Case number in one spelling: NFC, full-width brackets （）, no spaces."""
    value = _SPACES.sub("", clean_text(case_number))
    return value.replace("(", "（").replace(")", "）")


def listing_id(case_number: str, card_number: str) -> str:
    """Key of one listing: normalised case number | card number as published."""
    card = _SPACES.sub("", clean_text(card_number)).upper()
    return f"{normalize_case_number(case_number)}|{card}"


def event_id(listing_id: str, event_type: str, source_id: str) -> str:
    """uuid5 of the act, so the same act submitted twice gets the same id.

    Same value as `uuid.uuid5(LEDGER_NAMESPACE, name)`, formatted without building
    a UUID object (this runs once per event).
    """
    digest = _NAMESPACE_SHA1.copy()
    digest.update(f"{listing_id}\x1f{event_type}\x1f{source_id}".encode())
    h = digest.hexdigest()
    # Version 5 in the 13th hex digit, RFC 4122 variant in the top bits of the 17th.
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# SHA-1 state after the namespace bytes, copied per id instead of rehashing them.
_NAMESPACE_SHA1 = hashlib.sha1(LEDGER_NAMESPACE.bytes, usedforsecurity=False)
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}

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
    name = f"{listing_id}\x1f{event_type}\x1f{source_id}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_NAMESPACE_BYTES = LEDGER_NAMESPACE.bytes

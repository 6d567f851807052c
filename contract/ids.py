"""Deterministic identifiers: the listing id (message key) and ledger event ids."""

from __future__ import annotations

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
        value = unicodedata.normalize("NFC", value.translate(_INVISIBLE))
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
    """uuid5 of the act, so the same act submitted twice gets the same id."""
    return str(
        uuid.uuid5(LEDGER_NAMESPACE, f"{listing_id}\x1f{event_type}\x1f{source_id}")
    )

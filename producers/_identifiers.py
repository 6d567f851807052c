"""Check characters of Chinese identifiers (RULES.md §6.2, §6.3), for the generator."""

from __future__ import annotations

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def ric_check(body17: str) -> str:
    """Resident ID check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(body17, RIC_WEIGHTS, strict=True))
    return RIC_CHECK[total % 11]


def org_code_check(body8: str) -> str:
    """Organisation code check character (GB 11714): digits, A=10 … Z=35."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def uscc_check(body17: str) -> str:
    """Unified social credit code check character (GB 32100)."""
    total = sum(
        USCC_ALPHABET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]

"""Errors of the event contract: rejected input, unencodable events, bad bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ContractError(Exception):
    """Base of the contract's errors."""


@dataclass(frozen=True, slots=True)
class InputError:
    """One problem with one input record, said to the person who must fix it.

    `record` names the record (file and line, lifecycle or event id), `field` the
    dotted path inside it, `value` what was given and `expected` what was wanted.
    """

    record: str
    field: str
    value: Any
    expected: str

    def __str__(self) -> str:
        value = repr(self.value)
        if len(value) > 80:
            value = value[:77] + "..."
        return f"{self.record}: {self.field}: got {value}, expected {self.expected}"


class InputRejected(ContractError):
    """Raised when an input record has one or more problems; carries all of them."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


class EncodeError(ContractError):
    """An event cannot be encoded with its type's schema."""


class DecodeError(ContractError):
    """Bytes cannot be decoded into a ledger event."""

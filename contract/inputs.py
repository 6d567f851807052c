"""Validated input: the published-listing snapshot and the court lifecycle file.

Every string is NFC-normalised, stripped of zero-width characters and surrounding
whitespace before validation. Identifiers are checked with their own algorithms
(`contract.identifiers`); instants must carry a time zone; payloads are checked
against the Avro schema of their event type, so the schema stays the one definition
of what a payload may hold. Every problem becomes one `InputError`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal, NotRequired, Required

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from contract import identifiers as ids
from contract.errors import InputError
from contract.ids import clean_text
from contract.vocab import (
    ACTOR_KINDS,
    AGENCIES,
    CONDUCT_LABELS,
    ENTITY_TYPES,
    LIFECYCLE_TYPES,
    MEASURES,
    MEASURES_OF_AGENCY,
    PROVINCE_OF_COURT_PREFIX,
    PROVINCE_OF_NAME,
    SPC2017_LABELS_FROM,
    UNKNOWN,
)

logger = logging.getLogger(__name__)

_STRICT = ConfigDict(extra="forbid", frozen=True)


_CLEANED: dict[str, str] = {}  # non-ASCII string -> clean_text of it
_CLEANED_LIMIT = 1 << 16


def _clean_str(value: str) -> str:
    if value.isascii():
        return value.strip()
    cleaned = _CLEANED.get(value)
    if cleaned is None:
        cleaned = clean_text(value)
        if len(_CLEANED) >= _CLEANED_LIMIT:
            _CLEANED.clear()
        _CLEANED[value] = cleaned
    return cleaned


# `_clean_dict` and `_clean_list` repeat one per-item step inline: as a shared
# function it cost 2.4 % of the contract's validate+encode instructions per event.
def _clean_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    # Copied only when a string in it changes: court files are mostly clean already.
    out: dict[Any, Any] | None = None
    for key, item in value.items():
        kind = type(item)
        if kind is str:
            new = item.strip() if item.isascii() else _clean_str(item)
            if new is item or new == item:
                continue
        elif kind is dict:
            new = _clean_dict(item)
            if new is item:
                continue
        elif kind is list:
            new = _clean_list(item)
            if new is item:
                continue
        elif kind in _LEAVES:
            continue
        else:
            new = clean(item)
        if out is None:
            out = dict(value)
        out[key] = new
    return value if out is None else out


def _clean_list(value: list[Any]) -> list[Any]:
    out: list[Any] | None = None
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str:
            new = item.strip() if item.isascii() else _clean_str(item)
            if new is item or new == item:
                continue
        elif kind is dict:
            new = _clean_dict(item)
            if new is item:
                continue
        elif kind is list:
            new = _clean_list(item)
            if new is item:
                continue
        elif kind in _LEAVES:
            continue
        else:
            new = clean(item)
        if out is None:
            out = list(value)
        out[index] = new
    return value if out is None else out


_LEAVES = frozenset({int, bool, float, type(None)})


def clean(value: Any) -> Any:
    """Every string of a JSON value cleaned (see `contract.ids.clean_text`)."""
    kind = type(value)
    if kind is dict:
        return _clean_dict(value)
    if kind is str:
        return _clean_str(value)
    if kind is list:
        return _clean_list(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _fail(kind: str, expected: str) -> PydanticCustomError:
    return PydanticCustomError(kind, expected)


def _checked(check: Callable[[str], str | None], kind: str) -> AfterValidator:
    def validate(value: str) -> str:
        problem = check(value)
        if problem:
            raise _fail(kind, problem)
        return value

    return AfterValidator(validate)


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


# Legal acts and dates the ledger can hold: a year outside these is a typing error
# (9999-12-31), and the rules' periods must still be countable from it.
# Years, as written (an instant's in its own offset: a day off at the ends at most),
# compared as ints: comparing aware datetimes cost 8 % of validate+encode.
FIRST_YEAR, LAST_YEAR = 1950, 2199
LEDGER_YEARS = f"between {FIRST_YEAR} and {LAST_YEAR}"


def in_ledger_years(day: date) -> bool:
    """Whether `day` (a date or datetime) falls in the years the ledger holds."""
    return FIRST_YEAR <= day.year <= LAST_YEAR


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed: date | None = value
    elif isinstance(value, str):
        parsed = ids.parse_published_date(value)
    else:
        parsed = None
    if parsed is None:
        raise _fail("date", "a date such as 2016-06-01, 2016年06月01日 or 20160601")
    if not in_ledger_years(parsed):
        raise _fail("date_range", f"a date {LEDGER_YEARS}")
    return parsed


def _instant(value: Any) -> datetime:
    if type(value) is str and "T" in value:
        # The usual case, checked with no further calls.
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if (
            parsed is not None
            and parsed.utcoffset() is not None
            and FIRST_YEAR <= parsed.year <= LAST_YEAR
        ):
            return parsed
    if isinstance(value, str) and "T" in value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _fail(
                "instant", "an ISO-8601 instant such as 2017-10-13T09:11:00+08:00"
            ) from None
    if not isinstance(value, datetime):
        raise _fail(
            "instant",
            "an instant with date, time and offset such as 2017-10-13T09:11:00+08:00",
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(
            "naive_instant",
            "an instant with a time zone offset; a local time without one is ambiguous",
        )
    if not in_ledger_years(value):
        raise _fail("instant_range", f"an instant {LEDGER_YEARS}")
    return value


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise _fail("money", "an amount as an integer or a decimal string, not a float")
    try:
        amount = Decimal(value) if isinstance(value, int | str) else value
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise InvalidOperation
        quantized = amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise _fail("money", "an amount in yuan with at most 2 decimals") from None
    if quantized != amount or abs(quantized) >= Decimal(10) ** 16:
        raise _fail("money", "an amount in yuan with at most 2 decimals and 16 digits")
    return quantized


def _jurisdiction(value: Any) -> Any:
    # "CN-35 (Fujian)" -> "CN-35"
    if isinstance(value, str):
        return value.split(" ", 1)[0].split("(", 1)[0]
    return value


# Beijing time under its IANA names: China's courts keep it, and the rules count
# every day and deadline in it (to 24:00 Asia/Shanghai) whatever a record says.
BEIJING_TIME_ZONES = frozenset(
    {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"}
)


def _timezone(value: str) -> str:
    if value not in BEIJING_TIME_ZONES:
        raise _fail(
            "timezone",
            "Asia/Shanghai (Beijing time, which the courts keep and in which every"
            " deadline ends at 24:00); acts may still give their instants with any"
            " offset",
        )
    return value


Text = Annotated[str, Field(min_length=1)]
OptText = Annotated[str | None, BeforeValidator(_empty_to_none)]
Date = Annotated[date, PlainValidator(_date)]
Instant = Annotated[datetime, PlainValidator(_instant)]
Money = Annotated[Decimal, PlainValidator(_money)]
ResidentId = Annotated[str, _checked(ids.check_resident_id, "resident_id")]
CaseNumber = Annotated[str, _checked(ids.check_case_number, "case_number")]
EnforcementCaseNumber = Annotated[
    str, _checked(lambda v: ids.check_case_number(v, enforcement=True), "case_number")
]


def _check_card_number(value: str) -> str | None:
    """`ids.check_published_card_number`, with an 18-character value whose first 17
    characters are digits judged as the resident ID number it reads as (GB 11643),
    unless it is a valid USCC: the USCC wording is for values that look like one."""
    if len(value) == 18 and value[:17].isdigit() and ids.check_uscc(value) is not None:
        problem = ids.check_resident_id(value)
        if problem is not None:
            return (
                f"{problem}; an 18-digit card number reads as a resident ID number,"
                " which is published masked, such as 3502111983****2073"
            )
    return ids.check_published_card_number(value)


def _check_measure_code(value: str) -> str | None:
    """Problem with a measure code: it must be one of `vocab.MEASURES`."""
    if value in MEASURES:
        return None
    if not ids.MEASURE_CODE.match(value):
        return (
            "a measure code AGENCY.MEASURE of the catalogue, such as"
            f" {', '.join(_MEASURE_EXAMPLES)}"
        )
    agency = value.split(".", 1)[0]
    known = MEASURES_OF_AGENCY.get(agency)
    if known:
        return f"a measure code of the catalogue; {agency}'s are {', '.join(known)}"
    if agency in AGENCIES:
        return (
            f"a measure code of the catalogue; agency {agency} has none, others are"
            f" {', '.join(_MEASURE_EXAMPLES)}"
        )
    return (
        f"a measure code of the catalogue; {agency!r} is not an agency code"
        f" ({', '.join(AGENCIES[:6])}, ...); measures are such as"
        f" {', '.join(_MEASURE_EXAMPLES)}"
    )


_MEASURE_EXAMPLES = (
    "RAILWAY.TRAIN_RESTRICTION",
    "CIVIL_AVIATION.FLIGHT_BAN",
    "PBOC.CREDIT_REPORTING_RECORD",
    "MARKET_REGULATION.OFFICER_QUALIFICATION",
)
PublishedCardNumber = Annotated[str, _checked(_check_card_number, "card_number")]
MeasureCode = Annotated[str, _checked(_check_measure_code, "measure_code")]
Jurisdiction = Annotated[
    str, BeforeValidator(_jurisdiction), Field(pattern=r"^CN-\d{2}$")
]
TimeZone = Annotated[str, AfterValidator(_timezone)]
ActorKind = Literal[ACTOR_KINDS]  # type: ignore[valid-type]
EntityType = Literal[ENTITY_TYPES]  # type: ignore[valid-type]


def conduct_codes(label: str, published: date) -> tuple[list[str], str]:
    """Codes of a comma-joined conduct label, read with the label version in force."""
    version = "SPC2017" if published.isoformat() >= SPC2017_LABELS_FROM else "SPC2013"
    table = CONDUCT_LABELS[version]
    codes = []
    for part in label.replace("，", ",").split(","):
        code = table.get(part.strip())
        if code is None:
            raise _fail(
                "conduct_label",
                f"conduct labels of version {version} (publication {published}), "
                f"comma-joined; {part.strip()!r} is not one: {sorted(table)}",
            )
        codes.append(code)
    return codes, version


# Payload models, derived from the Avro schema of each event type


def _annotation(name: str, avro_type: Any) -> tuple[Any, bool]:
    """Python annotation of one Avro field and whether it is optional."""
    if isinstance(avro_type, list):
        (inner,) = (t for t in avro_type if t != "null")
        annotation, _ = _annotation(name, inner)
        if annotation is Text:
            return OptText, True
        return annotation | None, True
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        kind = avro_type["type"]
        if logical == "date":
            return Date, False
        if logical == "timestamp-millis":
            return Instant, False
        if logical == "decimal":
            return Money, False
        if kind == "enum":
            symbols = tuple(s for s in avro_type["symbols"] if s != UNKNOWN)
            return Literal[symbols], False  # type: ignore[valid-type]
        if kind == "array":
            item, _ = _annotation(name, avro_type["items"])
            return list[item], False  # type: ignore[valid-type]
        if kind == "record":
            return _typed_dict(avro_type), False
        return _annotation(name, kind)
    if name == "measure_code":
        return MeasureCode, False
    if name == "case_number":
        return CaseNumber, False
    if avro_type == "string":
        return Text, False
    if avro_type in ("int", "long"):
        return StrictInt, False
    if avro_type == "boolean":
        return StrictBool, False
    raise TypeError(f"no input type for Avro type {avro_type!r} of field {name!r}")


def _typed_dict(record: dict[str, Any], skip: frozenset[str] = frozenset()) -> Any:
    fields: dict[str, Any] = {}
    for field in record["fields"]:
        if field["name"] in skip:
            continue
        annotation, optional = _annotation(field["name"], field["type"])
        fields[field["name"]] = (
            NotRequired[annotation] if optional else Required[annotation]
        )
    typed = TypedDict(record["name"], fields)  # type: ignore[operator,misc]
    typed.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return typed


@cache
def payload_validator(event_type: str) -> Callable[[Any], Any]:
    """`validate_python` of the payload validator core of one event type (made once;
    the same validation as `payload_adapter`, without the adapter's per-call work)."""
    return payload_adapter(event_type).validator.validate_python


@cache
def payload_adapter(event_type: str) -> TypeAdapter[Any]:
    """Validator of the payload of one event type, built from its current schema."""
    from contract.codec import ENVELOPE_FIELDS, schema_for

    schema = schema_for(event_type).schema
    return TypeAdapter(_typed_dict(schema, skip=frozenset(ENVELOPE_FIELDS)))


# The lifecycle file


# RULES.md §6.1: 最高法, or a province abbreviation (high court) + 2 digits
# (intermediate) or + 4 digits (basic court); ASCII digits only (input cleaning is
# NFC, it does not fold full-width digits), nothing after the digits.
_COURT_CODE = re.compile(
    rf"最高法|[{''.join(PROVINCE_OF_COURT_PREFIX)}](?:[0-9]{{2}}|[0-9]{{4}})?"
)


def court_code_ok(code: str) -> bool:
    """Whether `code` is exactly a court code (RULES.md §6.1).

    闽, 闽02, 闽0203 or 最高法; not 闽0203民, 闽执, 闽02a or full-width digits."""
    return _COURT_CODE.fullmatch(code) is not None


class ActorIn(BaseModel):
    model_config = _STRICT

    kind: ActorKind
    code: OptText = None
    name: OptText = None
    # Said of DEBTOR actors; must agree with the debtor (checked with the lifecycle).
    entity_type: EntityType | None = None

    @field_validator("code")
    @classmethod
    def _code_fits_kind(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind == "COURT" and value is not None:
            if not court_code_ok(value):
                raise _fail(
                    "court_code",
                    "a court code: a province abbreviation alone or with 2 or 4 "
                    "ASCII digits (闽, 闽02, 闽0203, 京0105) or 最高法",
                )
        if kind == "AGENCY" and value not in AGENCIES:
            raise _fail("agency_code", f"an agency code, one of {list(AGENCIES)}")
        return value


class DebtorIn(BaseModel):
    model_config = _STRICT

    name: Text
    entity_type: EntityType
    id_number: str
    published_card_number: PublishedCardNumber
    legal_representative: OptText = None
    legal_rep_id_number: Annotated[
        ResidentId | None, BeforeValidator(_empty_to_none)
    ] = None

    @field_validator("id_number")
    @classmethod
    def _id_fits_entity(cls, value: str, info: ValidationInfo) -> str:
        check = (
            ids.check_resident_id
            if info.data.get("entity_type") == "NATURAL_PERSON"
            else ids.check_uscc
        )
        problem = check(value)
        if problem:
            raise _fail("id_number", problem)
        return value

    @field_validator("published_card_number")
    @classmethod
    def _card_fits_id(cls, value: str, info: ValidationInfo) -> str:
        full = info.data.get("id_number")
        if full is None:
            return value
        if "*" in value:
            head = value.split("*", 1)[0]
            if not (full.startswith(head) and full.endswith(value[-4:])):
                raise _fail("card_number", "the masked form of the debtor's id_number")
        elif value not in (full, full[8:17]):
            raise _fail("card_number", "the debtor's USCC or the org code inside it")
        return value


_ACTORS: dict[tuple[tuple[Any, Any], ...], ActorIn] = {}  # valid actor dicts
_ACTORS_LIMIT = 4096


def _known_actor(value: Any, validate: ValidatorFunctionWrapHandler) -> ActorIn:
    """An actor said before by an earlier event is the same valid (frozen) `ActorIn`:
    actors repeat from event to event. Anything else is validated as usual."""
    if type(value) is not dict:
        return validate(value)  # type: ignore[no-any-return]
    try:
        key = tuple(value.items())
        actor = _ACTORS.get(key)
    except TypeError:  # an unhashable value: validation names it
        return validate(value)  # type: ignore[no-any-return]
    if actor is None:
        actor = validate(value)
        if len(_ACTORS) >= _ACTORS_LIMIT:
            _ACTORS.clear()
        _ACTORS[key] = actor
    return actor


class EventIn(BaseModel):
    model_config = _STRICT

    seq: Annotated[StrictInt, Field(ge=0)]
    event_id: Text
    type: Literal[tuple(sorted(LIFECYCLE_TYPES))]  # type: ignore[valid-type]
    at: Instant
    actor: Annotated[ActorIn, WrapValidator(_known_actor)]
    payload: Any  # validated per event type by `payload_validator`


class LifecycleIn(BaseModel):
    model_config = _STRICT

    lifecycle_id: Text
    platform_record_id: Annotated[StrictInt, Field(gt=0)] | None = None
    case_number: EnforcementCaseNumber
    jurisdiction: Jurisdiction
    timezone: TimeZone
    scenario: OptText = None
    summary: OptText = None
    debtor: DebtorIn
    events: Annotated[list[EventIn], Field(min_length=1)]
    # Expected verdicts of the sample files: test oracles, not acts; not encoded.
    checks: list[Any] | None = None


# The published-listing snapshot


class ListingIn(BaseModel):
    """One published entry (RULES.md §5); `_synthetic` ground truth is not a fact of
    the publication and is dropped."""

    model_config = _STRICT

    platform_record_id: Annotated[StrictInt, Field(gt=0)]
    debtor_name: Text
    case_number: EnforcementCaseNumber
    age: Annotated[StrictInt, Field(ge=0, le=150)] | None = None
    gender: Annotated[
        Literal["男性", "女性", "男", "女"] | None, BeforeValidator(_empty_to_none)
    ] = None
    card_number: PublishedCardNumber
    legal_representative: OptText = None
    executing_court: Text
    province: OptText = None
    party_type_code: OptText = None
    enforcement_basis_number: OptText = None
    filing_date: Date | None = None
    enforcement_basis_issuer: OptText = None
    obligations: OptText = None
    performance_status: OptText = None
    performed_part: OptText = None
    unperformed_part: OptText = None
    publish_date: Date
    dishonest_conduct: Text
    synthetic: dict[str, Any] | None = Field(default=None, alias="_synthetic")

    @field_validator("dishonest_conduct")
    @classmethod
    def _known_labels(cls, value: str, info: ValidationInfo) -> str:
        published = info.data.get("publish_date")
        if published is not None:
            conduct_codes(value, published)
        return value

    @field_validator("province")
    @classmethod
    def _known_province(cls, value: str | None) -> str | None:
        if value is not None and value not in PROVINCE_OF_NAME:
            raise _fail(
                "province", f"a province short name, one of {list(PROVINCE_OF_NAME)}"
            )
        return value


# Errors


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(record)"


def input_errors(
    exc: ValidationError, record: str, prefix: tuple[int | str, ...] = ()
) -> list[InputError]:
    """One `InputError` per problem pydantic found."""
    errors = []
    for problem in exc.errors(include_url=False):
        loc = problem["loc"]
        # Drop the member name pydantic adds inside unions and constrained types.
        loc = tuple(
            p
            for p in loc
            if not (isinstance(p, str) and p.startswith(("function-", "constrained-")))
        )
        missing = problem["type"] == "missing"
        errors.append(
            InputError(
                record=record,
                field=_path(prefix + loc),
                # pydantic gives the whole enclosing object as the input of a
                # missing field; the field itself has no value.
                value=None if missing else problem.get("input"),
                expected="a value; the field is required"
                if missing
                else problem["msg"],
            )
        )
    return errors

"""Policy as data: the rule sets under `rules/policy/*.yaml`, loaded and validated.

Each file is one rule set (a legal document) with its jurisdiction and the dates it
was in force; each rule names what opens it, what meets it, its limit and who must
act. The rule applied to an act is the one in force for the listing's jurisdiction
on the day the act took effect (Asia/Shanghai), also in a replay years later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rules.calendar import UNITS

logger = logging.getLogger(__name__)

PREDICATES = frozenset(
    {
        "discretionary",
        "debtor_not_minor",
        "risk_notice_before",
        "applicant_relist_bar",
        "relist_after_exit",
        "retention_has_basis_and_period",
        "repair_refused_while_listed",
        "not_for_publication_route",
        "measure_in_force",
        "listing_in_force",
    }
)
GUARDS = frozenset(
    {"listing_in_force", "second_search_after_current_procedure_terminated"}
)
TRIGGER_REFS = (
    "SELF",
    "LAST_EXIT",
    "LAST_DECISION",
    "REFERS_TO",
    "APPLICANT_DELETION",
    "MEASURE_CHANGE",
)


class PolicyError(ValueError):
    """A policy file is malformed or inconsistent."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Model):
    value: int = Field(ge=0)
    unit: str

    @model_validator(mode="after")
    def _unit_known(self) -> Limit:
        if self.unit not in UNITS:
            raise ValueError(
                f"limit unit {self.unit!r} is unknown; expected one of {UNITS}"
            )
        return self


class Match(_Model):
    """An event that opens or meets a rule, with conditions on its payload."""

    event: str
    where: dict[str, Any] = Field(
        default_factory=dict
    )  # value, or list of allowed values
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    guard: str | None = None  # named condition on the listing's state
    source: str | None = None  # the article, when it differs by trigger
    same_measure: bool = False
    refers_to_trigger: bool = False

    @model_validator(mode="after")
    def _guard_known(self) -> Match:
        if self.guard is not None and self.guard not in GUARDS:
            raise ValueError(
                f"guard {self.guard!r} is unknown; expected one of {sorted(GUARDS)}"
            )
        return self

    def accepts(self, payload: dict[str, Any]) -> bool:
        for key, expected in self.where.items():
            value = payload.get(key)
            if isinstance(expected, list):
                if value not in expected:
                    return False
            elif value != expected:
                return False
        for key in self.present:
            if payload.get(key) in (None, ""):
                return False
        return all(payload.get(key) in (None, "") for key in self.absent)


class Rule(_Model):
    id: str
    source: str
    kind: Literal["DEADLINE", "ACT_CHECK"]
    opens: tuple[Match, ...] = ()
    met_by: tuple[Match, ...] = ()
    acts: tuple[Match, ...] = ()
    limit: Limit | None = None
    limit_is_default: bool = False
    no_period: bool = False
    answer_required: bool = True
    predicate: str | None = None
    trigger_ref: str = "SELF"
    response: Literal["ACT", "NONE"] = "ACT"
    report: Literal["ALWAYS", "VIOLATIONS"] = "ALWAYS"
    per_measure: bool = False
    forbidden_acts: tuple[str, ...] = ()
    except_jurisdictions: tuple[str, ...] = ()
    obligor: Literal["AUTHORITY", "PARTY"]
    responsible: str
    responsible_field: str | None = None
    why: str
    verified: bool | None = None  # None: the rule set's mark applies

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.predicate is not None and self.predicate not in PREDICATES:
            raise ValueError(
                f"predicate {self.predicate!r} is unknown; "
                f"expected one of {sorted(PREDICATES)}"
            )
        if self.trigger_ref not in TRIGGER_REFS:
            raise ValueError(
                f"trigger_ref {self.trigger_ref!r}; expected one of {TRIGGER_REFS}"
            )
        if self.kind == "DEADLINE":
            if not self.opens or not self.met_by:
                raise ValueError("a DEADLINE rule needs `opens` and `met_by`")
            if self.limit is None and not self.no_period and self.predicate is None:
                raise ValueError(
                    "a DEADLINE rule needs a limit, no_period or a predicate"
                )
        else:
            if not self.acts or self.predicate is None:
                raise ValueError("an ACT_CHECK rule needs `acts` and a `predicate`")
        return self


class RuleSetFile(_Model):
    rule_set: str
    version: str
    document: str
    jurisdiction: str
    effective_from: date
    effective_to: date | None = None
    verified: bool
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class BoundRule:
    """A rule with the scope of the rule set it belongs to."""

    rule: Rule
    rule_set: str
    policy_version: str
    jurisdiction: str
    effective_from: date
    effective_to: date | None
    verified: bool

    @property
    def id(self) -> str:
        return self.rule.id

    def in_force(self, jurisdiction: str, on: date) -> bool:
        if on < self.effective_from:
            return False
        if self.effective_to is not None and on > self.effective_to:
            return False
        if jurisdiction in self.rule.except_jurisdictions:
            return False
        # a national rule binds every region; a regional rule only its own
        return self.jurisdiction == "CN" or jurisdiction == self.jurisdiction


@dataclass(slots=True)
class Policy:
    """All rule sets, indexed by the event types that concern them."""

    rules: tuple[BoundRule, ...]
    versions: dict[str, str]
    by_open: dict[str, list[tuple[BoundRule, Match]]] = field(default_factory=dict)
    by_answer: dict[str, list[tuple[BoundRule, Match]]] = field(default_factory=dict)
    by_act: dict[str, list[tuple[BoundRule, Match]]] = field(default_factory=dict)
    by_id: dict[str, BoundRule] = field(default_factory=dict)
    forbidden_acts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.forbidden_acts = frozenset(
            act for bound in self.rules for act in bound.rule.forbidden_acts
        )
        for bound in self.rules:
            if bound.id in self.by_id:
                raise PolicyError(f"rule id {bound.id!r} is defined twice")
            self.by_id[bound.id] = bound
            for m in bound.rule.opens:
                self.by_open.setdefault(m.event, []).append((bound, m))
            for m in bound.rule.met_by:
                self.by_answer.setdefault(m.event, []).append((bound, m))
            for m in bound.rule.acts:
                self.by_act.setdefault(m.event, []).append((bound, m))

    @property
    def version(self) -> str:
        return " + ".join(f"{v}" for _, v in sorted(self.versions.items()))


def parse_rule_set(name: str, text: str) -> RuleSetFile:
    """Validate one policy file; errors name the file and the bad field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {name!r} is not valid YAML: {exc}") from exc
    try:
        return RuleSetFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']} "
            f"(got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise PolicyError(f"policy file {name!r}: {problems}") from exc


def build_policy(files: Iterable[RuleSetFile]) -> Policy:
    bound: list[BoundRule] = []
    versions: dict[str, str] = {}
    for rs in files:
        versions[rs.rule_set] = rs.version
        for rule in rs.rules:
            if not rule.id.startswith(rs.rule_set + "."):
                raise PolicyError(
                    f"rule {rule.id!r} is in rule set {rs.rule_set!r}; "
                    "expected its id to "
                    f"start with {rs.rule_set + '.'!r}"
                )
            bound.append(
                BoundRule(
                    rule=rule,
                    rule_set=rs.rule_set,
                    policy_version=rs.version,
                    jurisdiction=rs.jurisdiction,
                    effective_from=rs.effective_from,
                    effective_to=rs.effective_to,
                    verified=rs.verified if rule.verified is None else rule.verified,
                )
            )
    return Policy(tuple(bound), versions)


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The packaged rule sets (one per process, cached)."""
    folder = resources.files("rules").joinpath("policy")
    files = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            files.append(parse_rule_set(entry.name, entry.read_text("utf-8")))
    policy = build_policy(files)
    logger.debug("policy.loaded rules=%d version=%s", len(policy.rules), policy.version)
    return policy

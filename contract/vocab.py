"""Closed vocabularies of the contract: event types and their families, enum symbols,
conduct labels (失信行为具体情形) and the province codes of court codes.

The Avro enums carry these symbols plus `UNKNOWN`, the default a reader falls back to
when a newer writer sends a symbol it does not know yet. Input is checked against
the symbols without `UNKNOWN`: a court may not send a value nobody defined.
"""

from __future__ import annotations

UNKNOWN = "UNKNOWN"

# Families name the topic an event type travels on (see shixin.topics.Topics).
COURT = "court"
AGENCY = "agency"
PUBLISHER = "publisher"
CLOCK = "clock"
DERIVED = "derived"

DEBTOR_IDENTIFIED = "DEBTOR_IDENTIFIED"
LISTING_RECORD_PUBLISHED = "LISTING_RECORD_PUBLISHED"
CLOCK_TICK = "CLOCK_TICK"

_AGENCY_TYPES = (
    "SANCTION_APPLIED",
    "SANCTION_ENFORCED",
    "SANCTION_SUSPENDED",
    "SANCTION_RESUMED",
    "SANCTION_RELEASED",
    "SANCTION_RETAINED",
    "SANCTION_OBJECTION_FILED",
    "OBJECTION_REFERRED_TO_COURT",
    "CREDIT_REPAIR_APPLIED",
    "CREDIT_REPAIR_DECIDED",
    "COMPLAINT_RECEIVED",
    "COMPLAINT_ANSWERED",
    "REGISTRATION_REFUSED",
)
_PUBLISHER_TYPES = (
    "LISTING_PUBLISHED",
    "REPUBLISHER_ENTRY_DELETED",
    LISTING_RECORD_PUBLISHED,
)
_COURT_TYPES = (
    DEBTOR_IDENTIFIED,
    "EXECUTION_CASE_FILED",
    "EXECUTION_NOTICE_SERVED",
    "LISTING_APPLICATION_RECEIVED",
    "LISTING_APPLICATION_REJECTED",
    "LISTING_DECISION_MADE",
    "LISTING_DECISION_SERVED",
    "PUSHED_TO_JOINT_SANCTION_PLATFORM",
    "COURT_VERIFICATION_RESULT",
    "CORRECTION_REQUESTED",
    "CORRECTION_REVIEW_DECIDED",
    "REVIEW_DECISION_SERVED",
    "RECONSIDERATION_REQUESTED",
    "RECONSIDERATION_DECIDED",
    "LISTING_REVOKED",
    "LISTING_CORRECTED",
    "LISTING_SHIELDED",
    "LISTING_DELETED",
    "EARLY_DELETION_DECIDED",
    "LISTING_TERM_EXPIRED",
    "LISTING_UPDATE_PUSHED",
    "LISTING_WITHDRAWN_FROM_PUBLICATION",
    "ORIGINAL_PUBLISHERS_NOTIFIED",
    "REPUBLISHER_DELETION_REQUESTED",
    "PERFORMANCE_COMPLETED",
    "PARTIAL_PERFORMANCE",
    "SETTLEMENT_PERFORMANCE_CONFIRMED",
    "EXECUTION_TERMINATED",
    "CURRENT_PROCEDURE_TERMINATED",
    "ASSET_SEARCH_COMPLETED",
    "ASSET_REPORT_FILED",
    "DELETION_REQUESTED_BY_APPLICANT",
    "EMPLOYER_NOTIFIED",
    "ERROR_DETECTED",
    "RESPONSIBILITY_REVIEW_OPENED",
)
_DERIVED_TYPES = (
    "SANCTION_STATE_CHANGED",
    "DEADLINE_OPENED",
    "DEADLINE_MET",
    "DEADLINE_VIOLATED",
)

FAMILY_OF: dict[str, str] = {
    **{t: COURT for t in _COURT_TYPES},
    **{t: AGENCY for t in _AGENCY_TYPES},
    **{t: PUBLISHER for t in _PUBLISHER_TYPES},
    CLOCK_TICK: CLOCK,
    **{t: DERIVED for t in _DERIVED_TYPES},
}
EVENT_TYPES: tuple[str, ...] = tuple(FAMILY_OF)
# Event types a lifecycle file may carry (the derived, clock, snapshot and identity
# events are made by the ledger itself).
LIFECYCLE_TYPES: frozenset[str] = frozenset(
    t
    for t, family in FAMILY_OF.items()
    if family in (COURT, AGENCY, PUBLISHER)
    and t not in (DEBTOR_IDENTIFIED, LISTING_RECORD_PUBLISHED)
)

ACTOR_KINDS = (
    "COURT",
    "AGENCY",
    "PLATFORM",
    "REPUBLISHER",
    "DEBTOR",
    "APPLICANT",
    "COMPLAINANT",
    "COURT_SUPERVISION",
    "SYSTEM",
    "LEDGER",
)
ENTITY_TYPES = ("NATURAL_PERSON", "LEGAL_PERSON")
AGENCIES = (
    "NDRC",
    "PBOC",
    "FINANCIAL_REGULATION",
    "CSRC",
    "SAFE",
    "FINANCE",
    "SASAC",
    "NATURAL_RESOURCES",
    "HOUSING",
    "MARKET_REGULATION",
    "EMERGENCY",
    "TRANSPORT",
    "CIVIL_AVIATION",
    "RAILWAY",
    "TAX",
    "CUSTOMS",
    "PUBLIC_SECURITY",
    "IMMIGRATION",
    "ORG_DEPT",
    "HRSS",
    "CIVIL_AFFAIRS",
    "ORG_ESTABLISHMENT",
    "EDUCATION",
    "CULTURE_TOURISM",
    "FORESTRY",
    "CIVILIZATION_OFFICE",
    "JUSTICE",
    "MILITARY",
    "PROCURATORATE",
    "COURT",
    "OTHER",
)
CONDUCT_CODES = (
    "ABILITY_REFUSAL",
    "OBSTRUCT_EXECUTION",
    "EVADE_EXECUTION",
    "VIOLATE_ASSET_REPORTING",
    "VIOLATE_CONSUMPTION_ORDER",
    "BREACH_SETTLEMENT",
)
# Outcomes of a review, reconsideration or credit-repair decision.
OUTCOMES = ("UPHELD", "REJECTED", "APPROVED", "UPHOLD_ORIGINAL", "REVOKE_ORIGINAL")
VERIFICATION_RESULTS = ("INFO_CORRECT", "WRONG_PERSON")
EXIT_GROUNDS = (
    "PERFORMANCE_COMPLETED",
    "SETTLEMENT_PERFORMANCE_CONFIRMED",
    "EXECUTION_TERMINATED",
)
SANCTION_STATES = ("APPLIED", "SUSPENDED", "RELEASED", "RETAINED")
VERDICTS = (
    "COMPLIANT",
    "VIOLATION",
    "IN_TIME",
    "OUT_OF_TIME",
    "NO_NUMERIC_DEADLINE",
    "OPEN",
    "OVERDUE",
    "WITHDRAWN",
)
OBLIGORS = ("AUTHORITY", "PARTY")
LIMIT_UNITS = ("CALENDAR_DAYS", "WORKING_DAYS", "MONTHS")
DETECTORS = ("TICK", "ANSWER", "STATE")
LABEL_VERSIONS = ("SPC2013", "SPC2017")

# Conduct labels as the platform printed them, per label version (RULES.md §2).
SPC2017_LABELS_FROM = "2017-05-01"
_COMMON_LABELS = {
    "以伪造证据、暴力、威胁等方法妨碍、抗拒执行": "OBSTRUCT_EXECUTION",
    "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行": "EVADE_EXECUTION",
    "违反财产报告制度": "VIOLATE_ASSET_REPORTING",
    "违反限制高消费令": "VIOLATE_CONSUMPTION_ORDER",
    "被执行人无正当理由拒不履行执行和解协议": "BREACH_SETTLEMENT",
}
CONDUCT_LABELS: dict[str, dict[str, str]] = {
    "SPC2013": {
        **_COMMON_LABELS,
        "其他有履行能力而拒不履行生效法律文书确定义务": "ABILITY_REFUSAL",
        # TODO: legacy 2013 label; mapping it to EVADE_EXECUTION is our reading, not
        # a published concordance.
        "其它规避执行": "EVADE_EXECUTION",
    },
    "SPC2017": {
        **_COMMON_LABELS,
        "有履行能力而拒不履行生效法律文书确定义务": "ABILITY_REFUSAL",
        "违反限制消费令": "VIOLATE_CONSUMPTION_ORDER",
    },
}

# Court-code prefix (province abbreviation of the SPC court-code table) → GB/T 2260
# province code; `兵` is the Xinjiang Production and Construction Corps.
PROVINCE_OF_COURT_PREFIX: dict[str, str] = {
    "京": "11", "津": "12", "冀": "13", "晋": "14", "内": "15", "辽": "21",
    "吉": "22", "黑": "23", "沪": "31", "苏": "32", "浙": "33", "皖": "34",
    "闽": "35", "赣": "36", "鲁": "37", "豫": "41", "鄂": "42", "湘": "43",
    "粤": "44", "桂": "45", "琼": "46", "渝": "50", "川": "51", "黔": "52",
    "云": "53", "藏": "54", "陕": "61", "甘": "62", "青": "63", "宁": "64",
    "新": "65", "兵": "65",
}  # fmt: skip
PROVINCE_OF_NAME: dict[str, str] = {
    "北京": "11", "天津": "12", "河北": "13", "山西": "14", "内蒙古": "15",
    "辽宁": "21", "吉林": "22", "黑龙江": "23", "上海": "31", "江苏": "32",
    "浙江": "33", "安徽": "34", "福建": "35", "江西": "36", "山东": "37",
    "河南": "41", "湖北": "42", "湖南": "43", "广东": "44", "广西": "45",
    "海南": "46", "重庆": "50", "四川": "51", "贵州": "52", "云南": "53",
    "西藏": "54", "陕西": "61", "甘肃": "62", "青海": "63", "宁夏": "64",
    "新疆": "65",
}  # fmt: skip

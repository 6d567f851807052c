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
# Joint-sanction measures (联合惩戒措施) the ledger knows, as AGENCY.MEASURE codes with
# their gist (after the joint memorandum 发改财金〔2016〕141号). A closed list: input
# naming a measure not in it is rejected. A new measure is added here first, under
# an agency of AGENCIES.
MEASURES: dict[str, str] = {
    "NDRC.PUBLIC_BIDDING": "限制参与工程建设项目招标投标",
    "NDRC.ENTERPRISE_BONDS": "限制发行企业债券",
    "NDRC.GOV_INVESTMENT_PROJECTS": "限制政府投资项目及政府补贴性资金支持",
    "PBOC.CREDIT_REPORTING_RECORD": "失信信息纳入金融信用信息基础数据库",
    "PBOC.INTERBANK_BONDS": "限制在银行间市场发行债券",
    "FINANCIAL_REGULATION.CREDIT_GRANTING": "融资授信审慎",
    "FINANCIAL_REGULATION.CASH_VALUE_INSURANCE": "限制购买具有现金价值的保险产品",
    "FINANCIAL_REGULATION.INSTITUTION_SETUP": "限制设立金融机构、担任董事监事高管",
    "CSRC.SECURITIES_ISSUANCE": "限制发行股票、公司债券",
    "CSRC.LISTED_COMPANY_OFFICER": "限制担任上市公司董事、监事、高级管理人员",
    "SAFE.FOREIGN_EXCHANGE": "外汇管理审慎",
    "FINANCE.GOV_PROCUREMENT": "限制参与政府采购",
    "FINANCE.GOV_SUBSIDY": "限制获得政府补贴性资金",
    "SASAC.STATE_ENTERPRISE_OFFICER": "限制担任国有企业法定代表人、董事、监事",
    "NATURAL_RESOURCES.LAND_SUPPLY": "限制取得政府供应土地",
    "HOUSING.ENTERPRISE_QUALIFICATION": "限制取得建设领域企业资质",
    "HOUSING.BUILD_RENOVATE": "限制新建、扩建、高档装修房屋",
    "HOUSING.REAL_ESTATE_PURCHASE": "限制购买不动产",
    "MARKET_REGULATION.OFFICER_QUALIFICATION": "限制担任法定代表人、董事、监事、高管",
    "MARKET_REGULATION.KEY_SUPERVISION": "列为重点监管对象",
    "MARKET_REGULATION.PRODUCTION_LICENCE": "限制取得生产许可",
    "EMERGENCY.SAFETY_LICENCE": "限制取得安全生产许可",
    "TRANSPORT.TRANSPORT_LICENCE": "限制取得道路运输经营许可",
    "CIVIL_AVIATION.FLIGHT_BAN": "限制乘坐飞机",
    "RAILWAY.TRAIN_RESTRICTION": "限制乘坐G字头动车组列车及其他动车组一等以上座位",
    "TAX.TAX_CREDIT_DOWNGRADE": "纳税信用评价降级",
    "CUSTOMS.CUSTOMS_CREDIT_DOWNGRADE": "海关企业信用降级",
    "PUBLIC_SECURITY.VEHICLE_PURCHASE": "限制购买非经营必需车辆",
    "IMMIGRATION.EXIT_RESTRICTION": "限制出境",
    "ORG_DEPT.CIVIL_SERVANT_RECRUITMENT": "限制招录（聘）为公务员",
    "HRSS.PUBLIC_INSTITUTION_RECRUITMENT": "限制招聘为事业单位工作人员",
    "CIVIL_AFFAIRS.SOCIAL_ORGANISATION_OFFICER": "限制担任社会组织负责人",
    "ORG_ESTABLISHMENT.PUBLIC_INSTITUTION_REGISTRATION": "限制登记设立事业单位",
    "EDUCATION.HIGH_FEE_PRIVATE_SCHOOL": "限制子女就读高收费私立学校",
    "CULTURE_TOURISM.STAR_HOTEL": "限制在星级以上宾馆、酒店、夜总会、高尔夫球场消费",
    "CULTURE_TOURISM.OUTBOUND_GROUP_TRAVEL": "限制旅游、度假（出境团队游）",
    "FORESTRY.FOREST_LICENCE": "限制取得林业行政许可",
    "CIVILIZATION_OFFICE.HONOURS": "限制参评文明单位、道德模范",
    "JUSTICE.NOTARY_LAWYER_LICENCE": "限制取得律师、公证等执业许可",
    "MILITARY.MILITARY_PROCUREMENT": "限制参与军队采购",
    # the proposed codes of RULES.md §4 (CPC2016 §2 groups), with its wording
    "FINANCIAL_REGULATION.FOUND_FINANCIAL_INSTITUTION": "set up financial companies (bank, securities, fund, futures, insurance, guarantee …)",  # noqa: E501
    "NDRC.BOND_ISSUANCE": "issue bonds",
    "CSRC.BOND_ISSUANCE": "issue bonds",
    "CSRC.QUALIFIED_INVESTOR_QUOTA": "QFII/QDII quota",
    "CSRC.EQUITY_INCENTIVE": "equity incentives",
    "CSRC.SHARE_ISSUANCE_LISTING": "share issuance / NEEQ listing",
    "CIVIL_AFFAIRS.FOUND_SOCIAL_ORG": "found social organisations",
    "NDRC.GOV_INVESTMENT_PROJECT": "government-investment / fiscal-fund projects",
    "NDRC.POLICY_SUPPORT": "policy support (investment, import/export, science)",
    "SASAC.SOE_EXECUTIVE": "SOE director/supervisor/senior manager (incl. state-appointed in mixed companies); removal if in office",  # noqa: E501
    "ORG_ESTABLISHMENT.PSI_LEGAL_REP": "legal representative of a public institution",
    "FINANCIAL_REGULATION.FI_EXECUTIVE": "director/supervisor/senior manager of banks, securities, fund, futures, insurance, guarantee companies",  # noqa: E501
    "CIVIL_AFFAIRS.SOCIAL_ORG_LEADER": "officer of a social organisation",
    "HRSS.PSI_RECRUITMENT": "recruitment as civil servant / public-institution staff; appraisal of serving staff",  # noqa: E501
    "ORG_DEPT.PARTY_MEMBERSHIP": "Party membership rules",
    "ORG_DEPT.REPRESENTATIVE_CANDIDACY": "candidate for Party congress, people's congress, CPPCC",  # noqa: E501
    "MILITARY.ENLISTMENT": "military enlistment / officer appraisal",
    "CUSTOMS.AEO_CERTIFICATION": "customs-certified enterprise; tighter inspection",
    "MARKET_REGULATION.FOOD_DRUG_LICENSING": "drug/food industries; hazardous chemicals, fireworks, mining, safety assessment",  # noqa: E501
    "EMERGENCY.HAZARDOUS_INDUSTRY_LICENSING": "drug/food industries; hazardous chemicals, fireworks, mining, safety assessment",  # noqa: E501
    "JUSTICE.LAWYER_HONOURS": "lawyer / law-firm honours",
    "NATURAL_RESOURCES.REAL_ESTATE_TRANSACTION": "real-estate and state-asset transactions",  # noqa: E501
    "SASAC.STATE_ASSET_TRANSACTION": "real-estate and state-asset transactions",
    "FORESTRY.STATE_FOREST_LAND": "state forest land",
    "FORESTRY.GRASSLAND": "grassland",
    "NATURAL_RESOURCES.OTHER_STATE_RESOURCES": "other state natural resources",
    "PUBLIC_SECURITY.IDENTITY_QUERY": "identity, travel-document, vehicle queries; locate and control; exit ban",  # noqa: E501
    "PUBLIC_SECURITY.LOCATE_AND_CONTROL": "identity, travel-document, vehicle queries; locate and control; exit ban",  # noqa: E501
    "PUBLIC_SECURITY.REFUSAL_TO_EXECUTE_CASE": "prosecution for refusal to execute judgments (拒不执行判决、裁定罪)",  # noqa: E501
    "OTHER.MARKET_USE": "industry associations, credit agencies, platforms, market actors encouraged to use the list",  # noqa: E501
}
MEASURES_OF_AGENCY: dict[str, tuple[str, ...]] = {}
for _code in MEASURES:
    _agency = _code.split(".", 1)[0]
    MEASURES_OF_AGENCY[_agency] = (*MEASURES_OF_AGENCY.get(_agency, ()), _code)
del _code, _agency
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

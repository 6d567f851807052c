"""A realistic, deterministic workload: listings and lifecycles in the formats of data/.

Same seed, same bytes: every choice comes from one `random.Random(seed)` and the
files are written in one pass, record by record, so memory stays flat at any scale.
Distributions follow RULES.md §2, §3, §7 and §8 (about 77 % persons, the 35 Fujian
courts of the sample, "able but refuses" dominating the conduct mix, publications
2016-2026, exits by performance, settlement and termination, corrections upheld and
rejected, reconsiderations, agency measures applied and released, republishers and a
share of late acts). `checks` stay empty: expected verdicts are the engine's job.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from producers._identifiers import org_code_check, ric_check, uscc_check
from rules.courts import COURT_NAMES

logger = logging.getLogger(__name__)

LAST_DAY = date(2026, 12, 20)  # the holiday calendar ends with 2026; stay inside it
LAST_ORDINAL = LAST_DAY.toordinal()
MINUTES_PER_DAY = 24 * 60
SPC2017_START = date(2017, 5, 1)

# code, pre-2016 abbreviation, weight (the sample's 35 courts and mix); full names
# from the court directory `rules.courts`
_COURT_MIX: tuple[tuple[str, str, int], ...] = (
    ("闽0582", "晋", 28),
    ("闽0203", "思", 25),
    ("闽0102", "鼓", 22),
    ("闽0211", "集", 17),
    ("闽0121", "侯", 15),
    ("闽0181", "融", 12),
    ("闽0206", "湖", 12),
    ("闽0503", "丰", 11),
    ("闽0521", "惠", 11),
    ("闽0104", "仓", 10),
    ("闽0502", "鲤", 10),
    ("闽0602", "芗", 10),
    ("闽0302", "城", 10),
    ("闽01", "榕", 8),
    ("闽0111", "安", 8),
    ("闽0304", "荔", 7),
    ("闽0981", "福", 7),
    ("闽0583", "南", 7),
    ("闽0103", "台", 7),
    ("闽0581", "狮", 7),
    ("闽02", "厦", 6),
    ("闽0902", "蕉", 6),
    ("闽0802", "新", 5),
    ("闽0322", "仙", 5),
    ("闽05", "泉", 5),
    ("闽0213", "翔", 5),
    ("闽0702", "延", 5),
    ("闽0524", "溪", 4),
    ("闽0205", "海", 4),
    ("闽0212", "同", 3),
    ("闽0481", "永", 2),
    ("闽0782", "武", 2),
    ("闽0623", "浦", 2),
    ("闽03", "莆", 1),
    ("闽0823", "杭", 1),
)
COURTS: tuple[tuple[str, str, str, int], ...] = tuple(
    (code, COURT_NAMES[code], abbreviation, weight)
    for code, abbreviation, weight in _COURT_MIX
)
INTERMEDIATE = {code: COURT_NAMES[code] for code in (f"闽0{n}" for n in range(1, 10))}
CITY = {
    "闽01": "福州",
    "闽02": "厦门",
    "闽03": "莆田",
    "闽04": "三明",
    "闽05": "泉州",
    "闽06": "漳州",
    "闽07": "南平",
    "闽08": "龙岩",
    "闽09": "宁德",
}
HIGH_COURT = COURT_NAMES["闽"]

CONDUCT_MIX: tuple[tuple[tuple[str, ...], int], ...] = (
    (("ABILITY_REFUSAL",), 172),
    (("VIOLATE_ASSET_REPORTING",), 47),
    (("VIOLATE_CONSUMPTION_ORDER",), 21),
    (("ABILITY_REFUSAL", "VIOLATE_ASSET_REPORTING"), 19),
    (("BREACH_SETTLEMENT",), 14),
    (("EVADE_EXECUTION",), 8),
    (("ABILITY_REFUSAL", "VIOLATE_CONSUMPTION_ORDER"), 6),
    (("OBSTRUCT_EXECUTION",), 5),
    (("ABILITY_REFUSAL", "EVADE_EXECUTION"), 2),
    (("VIOLATE_ASSET_REPORTING", "VIOLATE_CONSUMPTION_ORDER"), 1),
    (("EVADE_EXECUTION", "VIOLATE_ASSET_REPORTING"), 1),
)
LABELS_2017 = {
    "ABILITY_REFUSAL": "有履行能力而拒不履行生效法律文书确定义务",
    "OBSTRUCT_EXECUTION": "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
    "EVADE_EXECUTION": "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
    "VIOLATE_ASSET_REPORTING": "违反财产报告制度",
    "VIOLATE_CONSUMPTION_ORDER": "违反限制高消费令",
    "BREACH_SETTLEMENT": "被执行人无正当理由拒不履行执行和解协议",
}
LABELS_2013 = {
    **LABELS_2017,
    "ABILITY_REFUSAL": "其他有履行能力而拒不履行生效法律文书确定义务",
}
PUBLISH_YEARS = (
    (2016, 40),
    (2017, 45),
    (2018, 40),
    (2019, 35),
    (2020, 28),
    (2021, 25),
    (2022, 22),
    (2023, 22),
    (2024, 18),
    (2025, 15),
    (2026, 10),
)
AGENCIES = {
    "PBOC": "中国人民银行征信中心",
    "RAILWAY": "中国铁路总公司（12306购票拦截）",
    "CIVIL_AVIATION": "中国民航信息网络股份有限公司（民航购票拦截）",
    "IMMIGRATION": "国家移民管理局",
    "CULTURE_TOURISM": "文化和旅游部",
    "MARKET_REGULATION": "福建省市场监督管理局",
    "FINANCE": "福建省财政厅",
    "NDRC": "福建省发展和改革委员会",
    "FINANCIAL_REGULATION": "国家金融监督管理总局福建监管局",
    "HOUSING": "福建省住房和城乡建设厅",
    "TAX": "国家税务总局福建省税务局",
}
PERSON_MEASURES = (
    "PBOC.CREDIT_REPORTING_RECORD",
    "RAILWAY.TRAIN_RESTRICTION",
    "CIVIL_AVIATION.FLIGHT_BAN",
    "IMMIGRATION.EXIT_RESTRICTION",
    "CULTURE_TOURISM.OUTBOUND_GROUP_TRAVEL",
    "CULTURE_TOURISM.STAR_HOTEL",
    "FINANCIAL_REGULATION.CASH_VALUE_INSURANCE",
)
ORG_MEASURES = (
    "PBOC.CREDIT_REPORTING_RECORD",
    "MARKET_REGULATION.OFFICER_QUALIFICATION",
    "FINANCE.GOV_PROCUREMENT",
    "NDRC.PUBLIC_BIDDING",
    "FINANCIAL_REGULATION.CREDIT_GRANTING",
    "HOUSING.ENTERPRISE_QUALIFICATION",
    "TAX.TAX_CREDIT_DOWNGRADE",
)
SCENARIOS: tuple[tuple[str, int], ...] = (
    ("STILL_LISTED", 34),
    ("HAPPY_PATH_PERFORMANCE", 24),
    ("HAPPY_PATH_SETTLEMENT", 8),
    ("HAPPY_PATH_TERMINATION", 5),
    ("DELETE_AFTER_TERMINATION_OF_CURRENT_PROCEDURE", 5),
    ("TERM_EXPIRY_DELETED", 5),
    ("CORRECTION_UPHELD", 4),
    ("CORRECTION_REJECTED_RECONSIDERATION", 4),
    ("OBJECTION_SUSPENDED_INFO_CORRECT", 3),
    ("RETENTION_WITH_BASIS", 2),
    ("COMPLAINT_SANCTION_APPLIED", 2),
    ("NOT_FOR_PUBLICATION_EMPLOYER_NOTIFIED", 1),
)
LATE_SHARE = 0.08  # share of authority acts done after their deadline

SURNAMES = "陈林黄张李王吴刘蔡杨郑许谢洪郭邱曾廖赖周徐苏叶庄吕江何罗高游翁颜施"
GIVEN = (
    "静萍华秀炳志福裕晖斌辉峰伟煌龙明玉美添虹霞海宏雪兰玲凤珍建良军振琴鸿德毅文国荣忠东"
)
FIRM_WORDS = "琨澜岚鋆嵘霖骏珩琦沅钜烨骐曦铧焜瑄淇澍珀瀚璟翊"
FIRM_TRADES = (
    "建筑工程",
    "贸易",
    "食品",
    "投资管理",
    "装饰工程",
    "电子科技",
    "纺织",
    "机械设备",
    "陶瓷",
    "工艺品",
)
FIRM_FORMS = ("有限公司", "有限责任公司", "股份有限公司")
SERVICE = ("电子送达", "留置送达", "直接送达", "邮寄送达")
REPUBLISHERS = ("某市新闻网站（转载失信名单专栏）", "某区信用信息公示网站（转载）")
RISK_TEXT = "如不按期履行，本院将依法把你（单位）纳入失信被执行人名单并予以信用惩戒"
CORRECTION_GROUNDS_UPHELD = (
    "不应纳入（已提供充分有效担保）",
    "不应纳入（已被查封财产足以清偿）",
    "记载信息不准确（身份证号码录入错误）",
)
CORRECTION_GROUNDS_REJECTED = (
    "不应纳入（无履行能力）",
    "记载信息不准确（立案时间有误）",
)


@dataclass
class Counts:
    listings: int = 0
    lifecycles: int = 0
    events: int = 0


def generate_files(out: Path, *, listings: int, seed: int) -> Counts:
    """Write `listings.jsonl` and `lifecycles.jsonl` under `out`; same seed, same
    bytes."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    counts = Counts()
    court_weights = [c[3] for c in COURTS]
    encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    with (
        (out / "listings.jsonl").open("w", encoding="utf-8", newline="\n") as lf,
        (out / "lifecycles.jsonl").open("w", encoding="utf-8", newline="\n") as cf,
    ):
        for index in range(listings):
            court = rng.choices(COURTS, court_weights)[0]
            case = _Case(rng, seed, index, court)
            lf.write(encode(case.listing()))
            lf.write("\n")
            lifecycle = case.lifecycle()
            cf.write(encode(lifecycle))
            cf.write("\n")
            counts.listings += 1
            counts.lifecycles += 1
            counts.events += len(lifecycle["events"])
    logger.info(
        "generated out=%s seed=%d listings=%d events=%d",
        out,
        seed,
        counts.listings,
        counts.events,
    )
    return counts


def _below(rng: random.Random, start: int, stop: int | None = None) -> int:
    """`randrange` for one or two arguments, from a single `random()` draw (faster)."""
    if stop is None:
        start, stop = 0, start
    return start + int(rng.random() * (stop - start))


def _between(rng: random.Random, low: int, high: int) -> int:
    """`randint`: low..high inclusive."""
    return low + int(rng.random() * (high - low + 1))


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


class _Case:
    """One debtor, one case: the published entry and the acts of its lifecycle."""

    def __init__(
        self,
        rng: random.Random,
        seed: int,
        index: int,
        court: tuple[str, str, str, int],
    ) -> None:
        self.rng = rng
        self.court_code, self.court_name, self.court_abbr, _ = court
        self.lifecycle_id = f"LC-G{seed}-{index + 1:07d}"
        self.record_id = 800_000_000 + (seed % 100) * 1_000_000 + index + 1
        self.prefix = f"{self.lifecycle_id}-E"

        # dates: publication 2016-2026, decision a few days before, filing months before
        year = rng.choices(
            [y for y, _ in PUBLISH_YEARS], [w for _, w in PUBLISH_YEARS]
        )[0]
        start = date(year, 1, 4)
        end = min(date(year, 12, 28), LAST_DAY - timedelta(days=60))
        self.publish_date = start + timedelta(days=_below(rng, (end - start).days))
        self.decision_date = self.publish_date - timedelta(days=_below(rng, 0, 8))
        self.filing_date = self.decision_date - timedelta(days=_below(rng, 30, 420))
        self.spc2017 = self.decision_date >= SPC2017_START  # terms (art.2)
        self.labels_2017 = self.publish_date >= SPC2017_START  # platform wording

        # case number (RULES.md §6.1): old style before 2016
        self.case_year = self.filing_date.year
        self.case_type = "执恢" if rng.random() < 0.14 else "执"
        self.case_seq = _below(rng, 1, 9000 if len(self.court_code) > 3 else 1500)
        left, right = ("(", ")") if rng.random() < 0.2 else ("（", "）")
        if self.case_year < 2016:
            self.case_type = "执"
            old = f"{self.court_abbr}执字第{self.case_seq:05d}号"
            self.case_number = f"{left}{self.case_year}{right}{old}"
        else:
            self.case_number = (
                f"{left}{self.case_year}{right}{self.court_code}"
                f"{self.case_type}{self.case_seq}号"
            )
        self.basis_year = self.case_year - rng.choice((0, 0, 1))
        self.basis_kind = rng.choices(
            ("民初", "民终", "ARBITRAL_AWARD", "民特", "民督"), (226, 27, 22, 20, 5)
        )[0]
        self.basis_number, self.basis_issuer = self._basis(left, right)

        # the debtor
        self.person = rng.random() < 0.77
        self.conduct = rng.choices(
            [c for c, _ in CONDUCT_MIX], [w for _, w in CONDUCT_MIX]
        )[0]
        self.principal = _below(rng, 5, 3000) * 500
        self.applicant = (
            self._person_name() if rng.random() < 0.5 else self._firm_name()
        )
        if self.person:
            self._make_person()
        else:
            self._make_org()
        self.published = True
        self.scenario = rng.choices(
            [s for s, _ in SCENARIOS], [w for _, w in SCENARIOS]
        )[0]
        if self.scenario == "NOT_FOR_PUBLICATION_EMPLOYER_NOTIFIED":
            self.published = False
        self.term_years = self._term_years()

    # -- the published entry

    def _basis(self, left: str, right: str) -> tuple[str, str]:
        rng = self.rng
        if self.basis_kind == "ARBITRAL_AWARD":
            city = CITY.get(self.court_code[:3], "福州")
            short = {
                "福州": "榕",
                "厦门": "厦",
                "泉州": "泉",
                "莆田": "莆",
                "漳州": "漳",
            }
            abbr = short.get(city, city[0])
            number = f"{abbr}仲裁字〔{self.basis_year}〕第{_below(rng, 1, 2000):04d}号"
            return number, f"{city}仲裁委员会"
        issuing = self.court_code[:3] if self.basis_kind == "民终" else self.court_code
        seq = _below(rng, 1, 8000)
        if self.basis_year < 2016:
            old = f"{self.court_abbr}{self.basis_kind}字第{seq:05d}号"
            number = f"{left}{self.basis_year}{right}{old}"
        else:
            number = f"{left}{self.basis_year}{right}{issuing}{self.basis_kind}{seq}号"
        if self.basis_kind == "民终":
            issuer = INTERMEDIATE.get(issuing, self.court_name)
        else:
            issuer = self.court_name
        if rng.random() < 0.4:
            issuer = "福建省" + issuer
        return number, issuer

    def _person_name(self) -> str:
        rng = self.rng
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.8 else "")
        return rng.choice(SURNAMES) + given

    def _firm_name(self) -> str:
        rng = self.rng
        city = CITY.get(self.court_code[:3], "福州")
        words = rng.choice(FIRM_WORDS) + rng.choice(FIRM_WORDS)
        place = city + "市" if rng.random() < 0.6 else city
        return f"{place}{words}{rng.choice(FIRM_TRADES)}{rng.choice(FIRM_FORMS)}"

    def _area_code(self) -> str:
        digits = self.court_code[1:]
        return "35" + (digits if len(digits) == 4 else digits + "02")

    def _resident_id(self, born: date, male: bool) -> str:
        seq = _below(self.rng, 0, 500) * 2 + (1 if male else 0)
        body = f"{self._area_code()}{born:%Y%m%d}{seq:03d}"
        return body + ric_check(body)

    def _birth(self, min_age: int, max_age: int) -> date:
        age_days = _below(self.rng, min_age * 365 + 10, max_age * 365)
        return self.publish_date - timedelta(days=age_days)

    def _make_person(self) -> None:
        rng = self.rng
        self.male = rng.random() < 0.78
        self.birth_date = self._birth(22, 75)
        self.id_number = self._resident_id(self.birth_date, self.male)
        self.name = self._person_name()
        self.card_number = self.id_number[:10] + "****" + self.id_number[14:]

    def _make_org(self) -> None:
        rng = self.rng
        body = "MA" + "".join(
            rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(6)
        )
        self.org_code = body + org_code_check(body)
        uscc_body = "91" + self._area_code() + self.org_code
        self.uscc = uscc_body + uscc_check(uscc_body)
        self.name = self._firm_name()
        self.legal_rep = self._person_name()
        self.legal_rep_id = self._resident_id(self._birth(28, 70), rng.random() < 0.8)
        self.shows_org_code = self.publish_date.year < 2018 and rng.random() < 0.4
        self.card_number = self.org_code if self.shows_org_code else self.uscc

    def _term_years(self) -> int | None:
        if not self.spc2017 or self.conduct == ("ABILITY_REFUSAL",):
            return None
        return 2 if self.rng.random() < 0.85 else self.rng.choice((3, 4, 5))

    def listing_term(self) -> dict[str, Any]:
        if not self.spc2017:
            return {"years": None, "basis": "SPC2013: no listing term"}
        if self.term_years is None:
            return {
                "years": None,
                "basis": "SPC2017 art.2: term applies only to items 2-6 of art.1",
            }
        expires = _add_years(self.decision_date, self.term_years)
        return {
            "years": self.term_years,
            "expires": expires.isoformat(),
            "basis": "SPC2017 art.2: 2 years; 1-3 more for serious violence/threats"
            " or several acts",
        }

    def conduct_label(self) -> str:
        labels = LABELS_2017 if self.labels_2017 else LABELS_2013
        return ",".join(labels[c] for c in self.conduct)

    def listing(self) -> dict[str, Any]:
        rng = self.rng
        partial = rng.random() < 0.1
        paid = _below(rng, 1, max(2, self.principal // 3)) if partial else 0
        age = (self.publish_date - self.birth_date).days // 365 if self.person else 0
        obligations = (
            f"被告{self.name}于本判决生效之日起十日内偿还原告{self.applicant}"
            f"借款本金人民币{self.principal}元及利息。"
            if rng.random() < 0.7
            else "详见判决书"
        )
        record: dict[str, Any] = {
            "platform_record_id": self.record_id,
            "debtor_name": self.name,
            "case_number": self.case_number,
            "age": age,
            "gender": ("男性" if self.male else "女性") if self.person else "",
            "card_number": self.card_number,
            "legal_representative": "" if self.person else self.legal_rep,
            "executing_court": self.court_name,
            "province": "福建",
            "party_type_code": rng.choice(("0", "580")) if self.person else "581",
            "enforcement_basis_number": self.basis_number,
            "filing_date": _cn_date(self.filing_date),
            "enforcement_basis_issuer": self.basis_issuer,
            "obligations": obligations,
            "performance_status": "部分未履行" if partial else "全部未履行",
            "performed_part": f"已履行{paid}元" if partial else "",
            "unperformed_part": f"未履行{self.principal - paid}元" if partial else "",
            "dishonest_conduct": self.conduct_label(),
            "publish_date": _cn_date(self.publish_date),
        }
        synthetic: dict[str, Any] = {
            "entity_type": "NATURAL_PERSON" if self.person else "LEGAL_PERSON",
            "court_code": self.court_code,
            "case_type": self.case_type,
            "case_year": self.case_year,
            "case_seq": self.case_seq,
            "filing_date": self.filing_date.isoformat(),
            "listing_decision_date": self.decision_date.isoformat(),
            "publish_date": self.publish_date.isoformat(),
            "conduct_codes": list(self.conduct),
            "conduct_label_version": "SPC2017" if self.labels_2017 else "SPC2013",
            "listing_term": self.listing_term(),
            "principal_amount_yuan": self.principal,
            "basis_doc_kind": self.basis_kind,
            "applicant_name": self.applicant,
            "published": self.published,
        }
        if self.person:
            synthetic["id_number"] = self.id_number
            synthetic["birth_date"] = self.birth_date.isoformat()
            synthetic["gender"] = "M" if self.male else "F"
        else:
            synthetic["uscc"] = self.uscc
            synthetic["org_code"] = self.org_code
            synthetic["legal_rep_id_number"] = self.legal_rep_id
            synthetic["card_number_shows"] = (
                "ORG_CODE_9" if self.shows_org_code else "USCC_18"
            )
        synthetic["lifecycle_id"] = self.lifecycle_id
        record["_synthetic"] = synthetic
        return record

    # -- the lifecycle

    def lifecycle(self) -> dict[str, Any]:
        debtor: dict[str, Any] = {
            "name": self.name,
            "entity_type": "NATURAL_PERSON" if self.person else "LEGAL_PERSON",
            "id_number": self.id_number if self.person else self.uscc,
            "published_card_number": self.card_number,
        }
        if not self.person:
            debtor["legal_representative"] = self.legal_rep
            debtor["legal_rep_id_number"] = self.legal_rep_id
        timeline = _Timeline(self)
        timeline.build()
        return {
            "lifecycle_id": self.lifecycle_id,
            "platform_record_id": self.record_id,
            "case_number": self.case_number,
            "jurisdiction": "CN-35 (Fujian)",
            "timezone": "Asia/Shanghai",
            "scenario": self.scenario,
            "summary": "Generated workload: " + self.scenario.lower().replace("_", " "),
            "debtor": debtor,
            "events": timeline.events,
            "checks": [],
        }


class _Timeline:
    """Acts of one case in time order; each act is at or after the one before."""

    def __init__(self, case: _Case) -> None:
        self.case = case
        self.rng = case.rng
        self.events: list[dict[str, Any]] = []
        self.now = case.filing_date.toordinal() * MINUTES_PER_DAY  # minutes, CST
        self.court = {"kind": "COURT", "code": case.court_code, "name": case.court_name}
        self.debtor = {
            "kind": "DEBTOR",
            "name": case.name,
            "entity_type": "NATURAL_PERSON" if case.person else "LEGAL_PERSON",
        }
        self.measures: list[str] = []
        self.closed = False  # the calendar's end was reached: stop adding acts

    # -- time: whole minutes since day 1 of the proleptic calendar, Asia/Shanghai

    def today(self) -> date:
        return date.fromordinal(self.now // MINUTES_PER_DAY)

    def on(self, day: date) -> int:
        """A working-hours instant on `day`, never before the previous act."""
        at = day.toordinal() * MINUTES_PER_DAY + _below(
            self.rng, 8 * 60 + 30, 17 * 60 + 30
        )
        if at <= self.now:
            at = self.now + _below(self.rng, 5, 60)
        return at

    def after(self, low: int, high: int) -> int:
        """An instant `low`..`high` days after the previous act."""
        day = self.now // MINUTES_PER_DAY + _between(self.rng, low, high)
        return self.on(date.fromordinal(day))

    def respond(self, on_time: int = 2) -> int:
        """When an authority answers: mostly within `on_time` days, sometimes late."""
        if self.rng.random() < LATE_SHARE:
            return self.after(on_time + 3, on_time + 20)
        return self.after(0, on_time)

    def add(
        self, kind: str, at: int, actor: dict[str, Any], payload: dict[str, Any]
    ) -> str | None:
        day, minute = divmod(at, MINUTES_PER_DAY)
        if self.closed or day > LAST_ORDINAL:
            self.closed = True
            return None
        self.now = at
        seq = len(self.events) + 1
        event_id = f"{self.case.prefix}{seq:02d}"
        hour, minute = divmod(minute, 60)
        stamp = f"{date.fromordinal(day).isoformat()}T{hour:02d}:{minute:02d}:00+08:00"
        self.events.append(
            {
                "seq": seq,
                "event_id": event_id,
                "type": kind,
                "at": stamp,
                "actor": actor,
                "payload": payload,
            }
        )
        return event_id

    @staticmethod
    def agency(measure: str) -> dict[str, Any]:
        code = measure.split(".", 1)[0]
        return {"kind": "AGENCY", "code": code, "name": AGENCIES.get(code, code)}

    # -- the story

    def build(self) -> None:
        case, rng = self.case, self.rng
        self.opening()
        getattr(self, "s_" + case.scenario.lower(), self.s_still_listed)()
        assert rng is case.rng

    def opening(self) -> None:
        case, rng = self.case, self.rng
        self.add(
            "EXECUTION_CASE_FILED",
            self.on(case.filing_date),
            self.court,
            {
                "case_number": case.case_number,
                "enforcement_basis_number": case.basis_number,
                "applicant": case.applicant,
            },
        )
        notice: dict[str, Any] = {
            "document": "执行通知书",
            "risk_warning_included": True,
        }
        if rng.random() < 0.01:
            notice["risk_warning_included"] = False
        else:
            notice["risk_warning_text"] = RISK_TEXT
        self.add("EXECUTION_NOTICE_SERVED", self.after(1, 10), self.court, notice)
        if rng.random() < 0.1:
            applicant = {"kind": "APPLICANT", "name": case.applicant}
            self.add(
                "LISTING_APPLICATION_RECEIVED",
                self.after(5, 20),
                applicant,
                {"requested_grounds": list(case.conduct)},
            )
        decision = max(case.decision_date, self.today())
        self.add(
            "LISTING_DECISION_MADE",
            self.on(decision),
            self.court,
            {
                "document": "纳入失信被执行人名单决定书",
                "signed_by": "院长",
                "conduct_codes": list(case.conduct),
                "conduct_label": case.conduct_label(),
                "listing_term": case.listing_term(),
            },
        )
        if not case.published:
            return
        published = max(case.publish_date, self.today())
        self.add(
            "LISTING_PUBLISHED",
            self.on(published),
            {"kind": "PLATFORM", "name": "中国执行信息公开网（失信被执行人名单）"},
            {
                "platform_record_id": case.record_id,
                "publish_date_shown": _cn_date(published),
            },
        )
        self.add(
            "PUSHED_TO_JOINT_SANCTION_PLATFORM",
            self.after(0, 0),
            self.court,
            {
                "target": "福建省失信被执行人联合惩戒平台",
                "data": "full identifiers (unmasked)",
            },
        )
        catalogue = PERSON_MEASURES if case.person else ORG_MEASURES
        self.measures = rng.sample(catalogue, _between(rng, 2, 5))
        for measure in self.measures:
            self.add(
                "SANCTION_APPLIED",
                self.after(0, 3),
                self.agency(measure),
                {"measure_code": measure},
            )
        self.add(
            "LISTING_DECISION_SERVED",
            self.after(0, 5),
            self.court,
            {"service_method": rng.choice(SERVICE)},
        )

    def exit_listing(self, reason: str, trigger: int | None = None) -> None:
        """Shield, tell the platform and original publishers, release, delete copies."""
        rng = self.rng
        shield = self.add(
            "LISTING_SHIELDED", self.respond(2), self.court, {"reason": reason}
        )
        if shield is None or not self.case.published:
            return
        self.add(
            "LISTING_UPDATE_PUSHED",
            self.after(0, 0),
            self.court,
            {"target": "福建省失信被执行人联合惩戒平台", "refers_to": shield},
        )
        city = CITY.get(self.case.court_code[:3], "福州")
        self.add(
            "ORIGINAL_PUBLISHERS_NOTIFIED",
            self.after(0, 1),
            self.court,
            {
                "recipients": ["信用福建网站", f"{city}市融媒体中心（曝光台）"],
                "refers_to": shield,
            },
        )
        republisher = rng.choice(REPUBLISHERS) if rng.random() < 0.4 else None
        if republisher:
            self.add(
                "REPUBLISHER_DELETION_REQUESTED",
                self.after(0, 1),
                self.court,
                {"republisher": republisher},
            )
        for measure in self.measures:
            self.add(
                "SANCTION_RELEASED",
                self.respond(3),
                self.agency(measure),
                {"measure_code": measure, "reason": "listing shielded/revoked"},
            )
        if republisher:
            self.add(
                "REPUBLISHER_ENTRY_DELETED",
                self.respond(2),
                {"kind": "REPUBLISHER", "name": republisher},
                {},
            )
        if self.measures and rng.random() < 0.15:
            measure = rng.choice(self.measures)
            code = measure.split(".", 1)[0]
            applied = self.add(
                "CREDIT_REPAIR_APPLIED",
                self.after(5, 60),
                self.debtor,
                {"to_agency": code, "measure_code": measure},
            )
            if applied:
                self.add(
                    "CREDIT_REPAIR_DECIDED",
                    self.after(3, 15),
                    self.agency(measure),
                    {"outcome": "APPROVED", "refers_to": applied},
                )

    # -- scenarios

    def s_still_listed(self) -> None:
        if self.rng.random() < 0.3:
            self.add(
                "PARTIAL_PERFORMANCE",
                self.after(30, 300),
                self.debtor,
                {
                    "paid_share": f"{_below(self.rng, 1, 9) * 10}%",
                    "instalment_plan_agreed": True,
                },
            )

    def s_happy_path_performance(self) -> None:
        self.add(
            "PERFORMANCE_COMPLETED",
            self.after(20, 700),
            self.debtor,
            {"paid_yuan": self.case.principal, "confirmed_by_court": True},
        )
        self.exit_listing("PERFORMANCE_COMPLETED")

    def s_happy_path_settlement(self) -> None:
        self.add(
            "SETTLEMENT_PERFORMANCE_CONFIRMED",
            self.after(30, 500),
            {"kind": "APPLICANT", "name": self.case.applicant},
            {"settlement_agreement": True, "applicant_confirmed_performed": True},
        )
        self.exit_listing("SETTLEMENT_PERFORMANCE_CONFIRMED")

    def s_happy_path_termination(self) -> None:
        self.add(
            "EXECUTION_TERMINATED",
            self.after(30, 500),
            self.court,
            {"ground": "申请人撤销申请", "ruling": "终结执行裁定"},
        )
        self.exit_listing("EXECUTION_TERMINATED")

    def s_delete_after_termination_of_current_procedure(self) -> None:
        if self.case.term_years is not None:  # not for listings with a term (art.10)
            self.s_happy_path_performance()
            return
        self.add(
            "CURRENT_PROCEDURE_TERMINATED",
            self.after(30, 300),
            self.court,
            {"ruling": "终结本次执行程序裁定"},
        )
        for round_ in (1, 2):
            self.add(
                "ASSET_SEARCH_COMPLETED",
                self.after(60, 200),
                self.court,
                {"system": "网络执行查控系统", "found": False, "round": round_},
            )
        self.add(
            "LISTING_DELETED",
            self.respond(2),
            self.court,
            {"reason": "终本后两次查询无财产且无财产线索"},
        )
        for measure in self.measures:
            self.add(
                "SANCTION_RELEASED",
                self.respond(3),
                self.agency(measure),
                {"measure_code": measure, "reason": "listing shielded/revoked"},
            )

    def s_term_expiry_deleted(self) -> None:
        years = self.case.term_years
        if years is None:
            self.s_happy_path_performance()
            return
        expires = _add_years(self.case.decision_date, years)
        self.add(
            "LISTING_TERM_EXPIRED",
            self.on(max(expires, self.today())),
            {"kind": "SYSTEM", "name": "listing term clock"},
            {"term_years": years},
        )
        self.add(
            "LISTING_DELETED", self.respond(2), self.court, {"reason": "纳入期限届满"}
        )
        for measure in self.measures:
            self.add(
                "SANCTION_RELEASED",
                self.respond(3),
                self.agency(measure),
                {"measure_code": measure, "reason": "listing shielded/revoked"},
            )

    def s_correction_upheld(self) -> None:
        ground = self.rng.choice(CORRECTION_GROUNDS_UPHELD)
        self.add(
            "CORRECTION_REQUESTED",
            self.after(1, 9),
            self.debtor,
            {"ground": ground, "form": "书面纠正申请"},
        )
        self.add(
            "CORRECTION_REVIEW_DECIDED",
            self.respond(3),
            self.court,
            {"outcome": "UPHELD", "document": "决定书"},
        )
        if ground.startswith("记载信息不准确"):
            self.add(
                "LISTING_CORRECTED",
                self.respond(2),
                self.court,
                {"reason": "身份信息录入错误，更正"},
            )
            return
        self.add("LISTING_REVOKED", self.respond(2), self.court, {"reason": ground})
        for measure in self.measures:
            self.add(
                "SANCTION_RELEASED",
                self.respond(3),
                self.agency(measure),
                {"measure_code": measure, "reason": "listing shielded/revoked"},
            )

    def s_correction_rejected_reconsideration(self) -> None:
        rng = self.rng
        self.add(
            "CORRECTION_REQUESTED",
            self.after(1, 9),
            self.debtor,
            {"ground": rng.choice(CORRECTION_GROUNDS_REJECTED), "form": "书面纠正申请"},
        )
        self.add(
            "CORRECTION_REVIEW_DECIDED",
            self.respond(3),
            self.court,
            {"outcome": "REJECTED", "document": "决定书"},
        )
        self.add(
            "REVIEW_DECISION_SERVED",
            self.after(0, 3),
            self.court,
            {"outcome": "REJECTED"},
        )
        code = self.case.court_code
        higher = INTERMEDIATE.get(code[:3], HIGH_COURT) if len(code) > 3 else HIGH_COURT
        higher_code = code[:3] if len(code) > 3 else "闽"
        self.add(
            "RECONSIDERATION_REQUESTED",
            self.after(1, 9),
            self.debtor,
            {"to_court": higher},
        )
        year = self.today().year
        self.add(
            "RECONSIDERATION_DECIDED",
            self.respond(12),
            {"kind": "COURT", "code": higher_code, "name": higher},
            {
                "outcome": "UPHOLD_ORIGINAL",
                "case_number": f"（{year}）{higher_code}执复{_below(rng, 1, 400)}号",
                "note": "original decision stays in force during reconsideration",
            },
        )

    def s_objection_suspended_info_correct(self) -> None:
        if not self.measures:
            return
        measure = self.rng.choice(self.measures)
        code = measure.split(".", 1)[0]
        objection = self.add(
            "SANCTION_OBJECTION_FILED",
            self.after(10, 200),
            self.debtor,
            {
                "to_agency": code,
                "measure_code": measure,
                "ground": "身份信息错误/同名同姓",
            },
        )
        self.add(
            "OBJECTION_REFERRED_TO_COURT",
            self.after(0, 2),
            self.agency(measure),
            {"to_court": self.case.court_name, "refers_to": objection},
        )
        self.add(
            "SANCTION_SUSPENDED",
            self.after(0, 0),
            self.agency(measure),
            {"measure_code": measure, "reason": "信息核实期间暂不执行"},
        )
        self.add(
            "COURT_VERIFICATION_RESULT",
            self.respond(3),
            self.court,
            {"result": "INFO_CORRECT"},
        )
        self.add(
            "SANCTION_RESUMED",
            self.after(0, 2),
            self.agency(measure),
            {"measure_code": measure},
        )

    def s_retention_with_basis(self) -> None:
        self.add(
            "PERFORMANCE_COMPLETED",
            self.after(20, 700),
            self.debtor,
            {"paid_yuan": self.case.principal, "confirmed_by_court": True},
        )
        retained = self.measures[:1]
        released = self.measures[1:]
        self.measures = released
        self.exit_listing("PERFORMANCE_COMPLETED")
        for measure in retained:
            until = self.today() + timedelta(days=_below(self.rng, 90, 700))
            self.add(
                "SANCTION_RETAINED",
                self.after(0, 3),
                self.agency(measure),
                {
                    "measure_code": measure,
                    "retention_until": until.isoformat(),
                    "legal_basis": "本部门规章关于重点监管期限的条款（示例）",
                },
            )

    def s_complaint_sanction_applied(self) -> None:
        catalogue = PERSON_MEASURES if self.case.person else ORG_MEASURES
        missing = [m for m in catalogue if m not in self.measures]
        if not missing or not self.case.published:
            return
        measure = self.rng.choice(missing)
        code = measure.split(".", 1)[0]
        complaint = self.add(
            "COMPLAINT_RECEIVED",
            self.after(10, 200),
            {"kind": "COMPLAINANT", "name": self.case.applicant},
            {"to_agency": code, "about": "应惩戒而未惩戒", "measure_code": measure},
        )
        self.add(
            "SANCTION_APPLIED",
            self.respond(5),
            self.agency(measure),
            {"measure_code": measure},
        )
        self.add(
            "COMPLAINT_ANSWERED",
            self.after(0, 3),
            self.agency(measure),
            {"result": "已补充实施惩戒", "refers_to": complaint},
        )

    def s_not_for_publication_employer_notified(self) -> None:
        self.add(
            "EMPLOYER_NOTIFIED",
            self.respond(3),
            self.court,
            {"employer": "所在单位（示例）"},
        )
        self.add(
            "LISTING_DECISION_SERVED",
            self.after(0, 5),
            self.court,
            {"service_method": self.rng.choice(SERVICE)},
        )

"""Directory of the courts the ledger names: court code (法院代字) -> full name.

Some input names a court by its full name only (a reconsideration request's
`to_court`); accountability is kept by court code, so such a name is mapped to its
code here. Codes follow 最高人民法院关于人民法院案件案号的若干规定 (法〔2015〕137号) and
its court-code table: 闽 + the last 4 digits of the GB/T 2260 division code for
basic courts, 闽01..闽09 for the intermediate courts, 闽 for the high court (see
RULES.md, case numbers). A name not in the directory is kept as it is.
"""

from __future__ import annotations

COURT_NAMES: dict[str, str] = {
    "闽": "福建省高级人民法院",
    "闽01": "福州市中级人民法院",
    "闽0102": "福州市鼓楼区人民法院",
    "闽0103": "福州市台江区人民法院",
    "闽0104": "福州市仓山区人民法院",
    "闽0111": "福州市晋安区人民法院",
    "闽0121": "闽侯县人民法院",
    "闽0181": "福清市人民法院",
    "闽02": "厦门市中级人民法院",
    "闽0203": "厦门市思明区人民法院",
    "闽0205": "厦门市海沧区人民法院",
    "闽0206": "厦门市湖里区人民法院",
    "闽0211": "厦门市集美区人民法院",
    "闽0212": "厦门市同安区人民法院",
    "闽0213": "厦门市翔安区人民法院",
    "闽03": "莆田市中级人民法院",
    "闽0302": "莆田市城厢区人民法院",
    "闽0304": "莆田市荔城区人民法院",
    "闽0322": "仙游县人民法院",
    "闽04": "三明市中级人民法院",
    "闽0481": "永安市人民法院",
    "闽05": "泉州市中级人民法院",
    "闽0502": "泉州市鲤城区人民法院",
    "闽0503": "泉州市丰泽区人民法院",
    "闽0521": "惠安县人民法院",
    "闽0524": "安溪县人民法院",
    "闽0581": "石狮市人民法院",
    "闽0582": "晋江市人民法院",
    "闽0583": "南安市人民法院",
    "闽06": "漳州市中级人民法院",
    "闽0602": "漳州市芗城区人民法院",
    "闽0623": "漳浦县人民法院",
    "闽07": "南平市中级人民法院",
    "闽0702": "南平市延平区人民法院",
    "闽0782": "武夷山市人民法院",
    "闽08": "龙岩市中级人民法院",
    "闽0802": "龙岩市新罗区人民法院",
    "闽0823": "上杭县人民法院",
    "闽09": "宁德市中级人民法院",
    "闽0902": "宁德市蕉城区人民法院",
    "闽0981": "福安市人民法院",
}

CODES_BY_NAME: dict[str, str] = {name: code for code, name in COURT_NAMES.items()}


def court_code(name_or_code: str) -> str:
    """The court code of a court named by its code or its full name."""
    if name_or_code in COURT_NAMES:
        return name_or_code
    return CODES_BY_NAME.get(name_or_code.strip(), name_or_code)

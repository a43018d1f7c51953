"""What a visitor asks about a service: materials, fee, processing time, window, online, or in general.

Ordered rules: a question that names two aspects ("网上办要花钱吗") is about the more specific one,
so online and fee win over materials, days and window.
"""

from __future__ import annotations

import re

ASPECTS = ("materials", "fee", "days", "window", "online", "general")

_ZH_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "online",
        re.compile(
            r"网上|线上|网办|在线|手机上|手机办|app|随申办|一网通办|不用跑|不跑|不用来|不用去|不去现场|足不出户|上网|网站|小程序|电脑上"
        ),
    ),
    (
        "fee",
        re.compile(
            r"多少钱|收费|收钱|费用|要钱|花钱|免费|工本费|几块|价格|交钱|付钱|给钱|要不要钱|花多少|贵不贵|收不收|缴多少"
        ),
    ),
    (
        "materials",
        re.compile(
            r"材料|资料|带什么|带啥|带些|要带|得带|准备什么|准备啥|准备哪些|证件|原件|复印件|拿什么|提供什么|要啥东西|需要什么|需要啥|要些什么|什么东西|啥东西|单据|发票原件|手续材料"
        ),
    ),
    (
        "days",
        re.compile(
            r"多久|多长时间|几天|几个工作日|工作日|什么时候能|啥时候能|多快|要等|等多|当场|当天|马上能|拿到|办好|办下来|下来|周期|时限|快吗|慢"
        ),
    ),
    (
        "window",
        re.compile(
            r"哪个窗口|几号窗口|窗口|在哪|哪里办|哪儿办|去哪|到哪|几楼|哪层|哪一层|怎么走|位置|哪办|哪里|哪儿|什么地方|啥地方|找谁"
        ),
    ),
)
_EN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "online",
        re.compile(
            r"\bonline\b|\binternet\b|\bwebsite\b|\bweb\b|\bapp\b|from home|on my phone|remote(ly)?|without coming",
            re.I,
        ),
    ),
    (
        "fee",
        re.compile(
            r"\bcosts?\b|\bfees?\b|\bprice\b|how much\b(?! time)|\bpay\b|\bfree\b|\bcharge[sd]?\b|\bmoney\b|\bexpensive\b",
            re.I,
        ),
    ),
    (
        "materials",
        re.compile(
            r"\bdocuments?\b|\bpapers?\b|\bbring\b|\bmaterials?\b|what do (i|we) need|what should i (take|prepare)|\brequire(d|ments?)?\b|\bprepare\b|\bpaperwork\b",
            re.I,
        ),
    ),
    (
        "days",
        re.compile(
            r"how long|how many days|\bdays?\b|\bweeks?\b|when (can|will|do) i (get|collect|pick|receive)|\bwait\b|same day|on the spot|how (fast|quick)|\bready\b",
            re.I,
        ),
    ),
    (
        "window",
        re.compile(
            r"\bwhere\b|which (window|counter|desk|floor)|\bwindow\b|\bcounter\b|\bfloor\b|\bzone\b|which way|\bfind\b|\blocation\b",
            re.I,
        ),
    ),
)


def detect_aspect(question: str, chinese: bool) -> str:
    """The aspect the question asks about; "general" when it names none."""
    for aspect, pattern in _ZH_RULES if chinese else _EN_RULES:
        if pattern.search(question):
            return aspect
    return "general"

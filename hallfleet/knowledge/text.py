"""Text features for matching visitors' questions: jieba words, character n-grams, English words.

jieba ships its dictionary inside the package (nothing is downloaded); its one-off start-up
(~0.5 s, cached in the temp dir) happens once per process and its chatter on stderr is silenced.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable

import jieba

ZH = "zh-CN"
EN = "en"

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EN_WORD_RE = re.compile(r"[a-z0-9]+")
_init_lock = threading.Lock()
_initialised = False
_added_words: set[str] = set()

# Words that say nothing about *which* service is meant: fillers, question words, and the aspect
# words (materials, fee, ...), which every service shares.
ZH_STOPWORDS = frozenset(
    """
我 你 您 他 她 它 我们 你们 他们 咱 俺 的 了 吗 呢 吧 啊 呀 哦 嗯 哈 那 那个 这 这个 这里 那里 就 都 也 还 又 要 想 想要 需要
请问 请 问 问一下 一下 下 麻烦 你好 您好 谢谢 帮 帮我 帮忙 给 把 被 在 去 来 到 是 有 没 没有 不 能 能不能 可以 可不可以 会 该 应该
怎么 怎么办 怎样 咋 咋办 如何 什么 啥 哪 哪里 哪儿 哪个 哪些 几 多少 多久 多长 是不是 有没有 办 办理 办个 手续 事 事情 东西
一个 个 些 点 里 上 中 个人 本人 自己 现在 刚 刚刚 已经 得 地 着 过 吧 嘛 么 和 跟 与 或者 还是 如果 因为 所以 然后 但是 就是
材料 资料 证件 带 准备 提供 交 费用 钱 收费 免费 多少钱 花 花钱 要钱 几天 时间 多长时间 拿到 下来 窗口 几号 几楼 楼 层 哪儿办
网上 线上 在线 网办 手机 app 上网 跑 跑一趟 现场 当场 一网通办 随申办 大概 一般 大约 左右 好 呃 额 那个 这边 那边
""".split()
)
EN_STOPWORDS = frozenset(
    """
a an the i me my we you your he she it its they them is are am was were be been do does did can could would should
will shall may might must where what which how when who whom why to for of in on at by from and or but if so
please get got go going need needs want wanna like with this that these those there here have has had
hi hello hey um uh er ok okay just really thanks thank excuse sorry any some much many long
document documents paper papers papers bring cost costs fee fees price pay money charge take takes time days day
window counter desk floor online internet website app apply application applying service services
do done make made help tell know about new
""".split()
)


def _ensure_jieba() -> None:
    global _initialised
    if _initialised:
        return
    with _init_lock:
        if not _initialised:
            jieba.setLogLevel(logging.WARNING)
            logging.getLogger("jieba").setLevel(logging.WARNING)
            jieba.initialize()
            _initialised = True


def add_words(words: Iterable[str]) -> None:
    """Teach jieba the catalog's own terms (names, aliases) so they segment as one word."""
    _ensure_jieba()
    for word in words:
        word = normalize(word)
        if len(word) >= 2 and has_cjk(word) and word not in _added_words:
            jieba.add_word(word, freq=200_000)
            _added_words.add(word)


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def detect_language(question: str) -> str:
    return ZH if has_cjk(question) else EN


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, punctuation and spaces dropped for Chinese."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum() or ch == " ").strip()


def zh_segments(text: str) -> list[str]:
    """Every jieba word of a Chinese text in order, fillers included (callers decide what counts)."""
    _ensure_jieba()
    return [w for chunk in normalize(text).split() for w in jieba.lcut(chunk) if w.strip()]


def en_stem(word: str) -> str:
    """A light English stemmer: enough that 'licences'/'licence', 'registering'/'register' meet."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: len(word) - len(suffix)] + keep
    return word


def en_words(text: str) -> list[str]:
    """Stemmed English content words; spelling variants (license/licence) folded together."""
    words = _EN_WORD_RE.findall(unicodedata.normalize("NFKC", text).lower().replace("license", "licence"))
    return [en_stem(w) for w in words if w not in EN_STOPWORDS]


def en_trigrams(words: Iterable[str]) -> list[str]:
    """Character trigrams of each word, so a typo ('licnece') still shares most of them."""
    out: list[str] = []
    for w in words:
        padded = f"<{w}>"
        out.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return out

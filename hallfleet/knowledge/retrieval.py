"""Find the catalog entry a question is about: BM25 over jieba words and character n-grams, plus aliases.

Three signals, each for a reason:
- BM25 (rank_bm25) over jieba words ranks entries by the distinctive words they share with the question;
- character bigrams (zh) / trigrams (en) in the same index still match when a visitor's typo or an
  odd segmentation breaks a word ("营业执找");
- an alias or name found verbatim in the question ("公积金", "residence permit") is the strongest evidence.
Confidence is the IDF-weighted share of the question's content the best entry explains, so a question
about the weather, which shares nothing with the catalog, gets a low confidence however BM25 ranks it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from rank_bm25 import BM25Okapi

from hallfleet.knowledge.catalog import HallInfo, ServiceItem
from hallfleet.knowledge.text import (
    ZH_STOPWORDS,
    add_words,
    en_trigrams,
    en_words,
    normalize,
    zh_segments,
)

# Characters that on their own carry no topic: a jieba word made only of them is a filler ("那要", "哪办").
_FILLER_CHARS = frozenset(
    "那这要带的了吗呢啊呀我你您想去哪办个在是有能会得就都也还可以么什怎咋啥几多少请问一下给把帮再又没不该和跟"
)
_ALIAS_WEIGHT_ZH = 1.5  # BM25 points per character of the longest alias found verbatim
_ALIAS_WEIGHT_EN = 3.0  # BM25 points per word of the longest alias phrase found
_UNKNOWN_WEIGHT = 0.5  # share of the top IDF a question feature unknown to the whole catalog counts against


@dataclass(frozen=True)
class Match:
    entry_id: str  # a ServiceItem id, or "hall:<id>" for hall information
    score: float
    confidence: float  # in [0, 1]
    alias_len: int  # length of the longest alias hit (zh chars / en words), 0 if none
    runner_up: str | None
    runner_up_score: float


def _is_filler(word: str) -> bool:
    return word in ZH_STOPWORDS or all(ch in _FILLER_CHARS for ch in word)


def zh_features(text: str) -> tuple[list[str], list[str]]:
    """(content words, bigrams of content runs) of a Chinese text."""
    runs: list[str] = []
    words: list[str] = []
    current = ""
    for word in zh_segments(text):
        if _is_filler(word) or not word.strip():
            if current:
                runs.append(current)
            current = ""
            continue
        words.append(word)
        current += word
    if current:
        runs.append(current)
    grams = [f"²{run[i : i + 2]}" for run in runs for i in range(len(run) - 1)]
    return words, grams


def en_features(text: str) -> tuple[list[str], list[str]]:
    words = en_words(text)
    return words, [f"³{g}" for g in en_trigrams(words)]


class Retriever:
    """A BM25 index per language over the catalog's names, aliases, departments and FAQ questions."""

    def __init__(self, items: list[ServiceItem], hall_info: list[HallInfo]) -> None:
        add_words(
            [t for item in items for t in (item.name_zh, *item.keywords_zh)]
            + [k for h in hall_info for k in h.keywords_zh]
        )
        self.ids: list[str] = []
        self._aliases_zh: list[list[str]] = []
        self._aliases_en: list[list[tuple[str, ...]]] = []
        docs_zh: list[list[str]] = []
        docs_en: list[list[str]] = []
        for item in items:
            self.ids.append(item.id)
            zh_texts = (
                [item.name_zh] * 3 + list(item.keywords_zh) * 2 + [item.department_zh] + [f.q_zh for f in item.faq]
            )
            en_texts = (
                [item.name_en] * 3 + list(item.keywords_en) * 2 + [item.department_en] + [f.q_en for f in item.faq]
            )
            docs_zh.append(self._doc(zh_texts, zh_features))
            docs_en.append(self._doc(en_texts, en_features))
            self._aliases_zh.append(self._zh_aliases(item.name_zh, item.keywords_zh))
            self._aliases_en.append(self._en_aliases(item.name_en, item.keywords_en))
        for info in hall_info:
            self.ids.append(f"hall:{info.id}")
            docs_zh.append(self._doc(list(info.keywords_zh) * 2, zh_features))
            docs_en.append(self._doc(list(info.keywords_en) * 2, en_features))
            self._aliases_zh.append(self._zh_aliases("", info.keywords_zh))
            self._aliases_en.append(self._en_aliases("", info.keywords_en))
        self._bm25_zh = BM25Okapi(docs_zh)
        self._bm25_en = BM25Okapi(docs_en)
        self._vocab_zh = [set(d) for d in docs_zh]
        self._vocab_en = [set(d) for d in docs_en]
        self._idf_zh = self._idf(docs_zh)
        self._idf_en = self._idf(docs_en)

    @staticmethod
    def _doc(texts: list[str], features) -> list[str]:
        out: list[str] = []
        for text in texts:
            words, grams = features(text)
            out.extend(words)
            out.extend(grams)
        return out

    @staticmethod
    def _zh_aliases(name: str, keywords: tuple[str, ...]) -> list[str]:
        aliases = {normalize(k).replace(" ", "") for k in (*keywords, name) if k}
        # a name like "居住证办理" is also said without its generic tail
        stem = re.sub(r"(申领|办理|登记|申请|补换|备案|证明开具)$", "", normalize(name))
        if len(stem) >= 2:
            aliases.add(stem)
        return sorted((a for a in aliases if len(a) >= 2), key=len, reverse=True)

    @staticmethod
    def _en_aliases(name: str, keywords: tuple[str, ...]) -> list[tuple[str, ...]]:
        phrases = {tuple(en_words(k)) for k in (*keywords, name) if k}
        return sorted((p for p in phrases if p), key=len, reverse=True)

    @staticmethod
    def _idf(docs: list[list[str]]) -> dict[str, float]:
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        n = len(docs)
        return {t: math.log(1.0 + n / c) for t, c in df.items()}

    def _alias_hits(self, question: str, chinese: bool) -> list[int]:
        """Per entry, the length of the longest alias found in the question (0 if none).

        Chinese aliases of 3+ characters also match with one wrong character, at one character less:
        visitors type homophones (社包卡, 身分证, 公基金) far more often than they misspell English.
        """
        if chinese:
            q = normalize(question).replace(" ", "")
            exact = [next((len(a) for a in aliases if a in q), 0) for aliases in self._aliases_zh]
            return [hit or self._fuzzy_hit(q, aliases) for hit, aliases in zip(exact, self._aliases_zh)]
        words = en_words(question)
        joined = f" {' '.join(words)} "
        return [next((len(p) for p in phrases if f" {' '.join(p)} " in joined), 0) for phrases in self._aliases_en]

    @staticmethod
    def _fuzzy_hit(q: str, aliases: list[str]) -> int:
        chars = set(q)
        for alias in aliases:  # longest first
            n = len(alias)
            if n < 3:
                break
            if sum(ch in chars for ch in alias) < n - 1:
                continue  # cheap filter: most aliases share almost nothing with the question
            for start in range(len(q) - n + 1):
                window = q[start : start + n]
                if sum(a != b for a, b in zip(alias, window)) == 1:
                    return n - 1
        return 0

    def content(self, question: str, chinese: bool) -> list[str]:
        """The question's content words (no fillers, no aspect words)."""
        return (zh_features if chinese else en_features)(question)[0]

    def _query(self, question: str, chinese: bool) -> list[str]:
        if chinese:
            words, grams = zh_features(question)
            return words + grams
        words, _ = en_features(question)
        # trigrams only for words the catalog does not know: a typo fallback, not a second vote
        unknown = [w for w in words if w not in self._idf_en]
        return words + [f"³{g}" for g in en_trigrams(unknown)]

    def search(self, question: str, chinese: bool) -> Match | None:
        query = self._query(question, chinese)
        if not query:
            return None
        bm25 = self._bm25_zh if chinese else self._bm25_en
        scores = bm25.get_scores(query)
        hits = self._alias_hits(question, chinese)
        weight = _ALIAS_WEIGHT_ZH if chinese else _ALIAS_WEIGHT_EN
        total = [float(s) + weight * h for s, h in zip(scores, hits)]
        order = sorted(range(len(total)), key=total.__getitem__, reverse=True)
        best = order[0]
        second = order[1] if len(order) > 1 else None
        if total[best] <= 0.0:
            return None
        return Match(
            entry_id=self.ids[best],
            score=total[best],
            confidence=self._coverage(query, best, chinese),
            alias_len=hits[best],
            runner_up=self.ids[second] if second is not None else None,
            runner_up_score=total[second] if second is not None else 0.0,
        )

    def _coverage(self, query: list[str], index: int, chinese: bool) -> float:
        """How much of the question the entry explains: IDF mass it shares / all IDF mass that counts.

        Features the entry lacks count against it in full when another entry has them (they point
        elsewhere) and only partly when no entry has them (chatter such as "朋友", "先"); a question
        that shares nothing with the catalog still ends near 0.
        """
        idf = self._idf_zh if chinese else self._idf_en
        vocab = (self._vocab_zh if chinese else self._vocab_en)[index]
        unknown = _UNKNOWN_WEIGHT * math.log(1.0 + len(self.ids))
        matched = sum(idf[t] for t in query if t in vocab)
        against = sum(idf[t] if t in idf else unknown for t in query if t not in vocab)
        return matched / (matched + against) if matched + against > 0 else 0.0

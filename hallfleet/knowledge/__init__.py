"""Guidance knowledge base: a hall's service catalog and answers to visitors' questions.

One job per module: ``catalog`` (model, loading, validation), ``text`` (segmentation and features),
``retrieval`` (which entry a question is about), ``aspects`` (what is asked), ``answering``
(the answer, or abstaining with a call for a staff helper). Pure logic: no middleware imports.
"""

from hallfleet.knowledge.answering import (
    DEFAULT_MIN_CONFIDENCE,
    HELPER,
    Answer,
    KnowledgeBase,
    KnowledgeBaseError,
    LanguageError,
    normalize_language,
)
from hallfleet.knowledge.catalog import (
    CATALOG_FILE_NAME,
    Catalog,
    CatalogError,
    Faq,
    HallInfo,
    ServiceItem,
    dump_catalog,
    effective_catalog_path,
    expand_windows,
    read_catalog,
)
from hallfleet.knowledge.text import EN, ZH, has_cjk

__all__ = [
    "CATALOG_FILE_NAME",
    "DEFAULT_MIN_CONFIDENCE",
    "EN",
    "HELPER",
    "ZH",
    "Answer",
    "Catalog",
    "CatalogError",
    "Faq",
    "HallInfo",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "LanguageError",
    "ServiceItem",
    "dump_catalog",
    "effective_catalog_path",
    "expand_windows",
    "has_cjk",
    "normalize_language",
    "read_catalog",
]

"""What each kiosk conversation is about, so a follow-up ("那要带什么材料？") keeps its subject.

Kept in memory only and bounded in both size and age: a kiosk is used by one visitor after another,
so an old subject must not leak into the next visitor's questions, and a page left open (or a
client inventing session ids) must not grow the fleet manager's memory. Pure: the caller passes
the time in (monotonic seconds), which keeps the rules testable without waiting.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_MAX_SESSIONS = 500
DEFAULT_MAX_AGE_S = 300.0  # five quiet minutes: the visitor has most likely left the kiosk


@dataclass
class _Entry:
    item_id: str
    touched_s: float


class SessionContexts:
    """Session id -> the service item its conversation is about (least recently used dropped first)."""

    def __init__(self, max_sessions: int = DEFAULT_MAX_SESSIONS, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions: expected at least 1, got {max_sessions}")
        if max_age_s <= 0:
            raise ValueError(f"max_age_s: expected a positive number of seconds, got {max_age_s}")
        self.max_sessions, self.max_age_s = max_sessions, max_age_s
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, session_id: str, now_s: float) -> str | None:
        """The item the session is about, or None when unknown or quiet for longer than ``max_age_s``."""
        self._expire(now_s)
        entry = self._entries.get(session_id)
        return entry.item_id if entry is not None else None

    def remember(self, session_id: str, item_id: str | None, now_s: float) -> None:
        """Record the subject after an answer; ``None`` (small talk, hall info, abstention) keeps the old one
        but still counts as activity, so the conversation does not expire mid-way."""
        self._expire(now_s)
        entry = self._entries.get(session_id)
        if item_id is None:
            if entry is not None:
                entry.touched_s = now_s
                self._entries.move_to_end(session_id)
            return
        self._entries[session_id] = _Entry(item_id, now_s)
        self._entries.move_to_end(session_id)
        while len(self._entries) > self.max_sessions:
            self._entries.popitem(last=False)

    def forget(self, session_id: str) -> None:
        """The visitor tapped "new question" / the page started over."""
        self._entries.pop(session_id, None)

    def _expire(self, now_s: float) -> None:
        # entries are in touch order, so the stale ones are at the front
        while self._entries:
            session_id, entry = next(iter(self._entries.items()))
            if now_s - entry.touched_s <= self.max_age_s:
                break
            del self._entries[session_id]

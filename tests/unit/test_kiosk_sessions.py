"""The kiosk's conversation subjects: kept per session, forgotten when quiet, bounded in number."""

from __future__ import annotations

import pytest

from fleet_api.domain.kiosk_sessions import SessionContexts


def test_a_follow_up_gets_the_subject_of_its_own_session_only() -> None:
    contexts = SessionContexts()
    contexts.remember("visitor-1", "business-licence", now_s=0.0)
    contexts.remember("visitor-2", "residence-permit", now_s=1.0)
    assert contexts.get("visitor-1", now_s=2.0) == "business-licence"
    assert contexts.get("visitor-2", now_s=2.0) == "residence-permit"
    assert contexts.get("visitor-3", now_s=2.0) is None


def test_no_subject_keeps_the_old_one_and_the_conversation_alive() -> None:
    contexts = SessionContexts(max_age_s=60.0)
    contexts.remember("visitor-1", "business-licence", now_s=0.0)
    contexts.remember("visitor-1", None, now_s=50.0)  # "where is the toilet?" in between
    assert contexts.get("visitor-1", now_s=100.0) == "business-licence"
    contexts.remember("visitor-1", "id-card", now_s=101.0)
    assert contexts.get("visitor-1", now_s=102.0) == "id-card"


def test_a_quiet_session_is_forgotten_so_the_next_visitor_starts_fresh() -> None:
    contexts = SessionContexts(max_age_s=300.0)
    contexts.remember("visitor-1", "business-licence", now_s=0.0)
    assert contexts.get("visitor-1", now_s=300.0) == "business-licence"
    assert contexts.get("visitor-1", now_s=300.5) is None
    assert len(contexts) == 0


def test_the_least_recently_used_session_goes_first_when_full() -> None:
    contexts = SessionContexts(max_sessions=2)
    contexts.remember("a-session", "id-card", now_s=0.0)
    contexts.remember("b-session", "id-card", now_s=1.0)
    contexts.get("a-session", now_s=2.0)  # reading does not count as use; asking again does
    contexts.remember("a-session", None, now_s=2.0)
    contexts.remember("c-session", "id-card", now_s=3.0)
    assert len(contexts) == 2
    assert contexts.get("b-session", now_s=3.0) is None
    assert contexts.get("a-session", now_s=3.0) == "id-card"


def test_forget_and_bad_limits() -> None:
    contexts = SessionContexts()
    contexts.remember("visitor-1", "id-card", now_s=0.0)
    contexts.forget("visitor-1")
    contexts.forget("never-seen")
    assert contexts.get("visitor-1", now_s=0.0) is None
    with pytest.raises(ValueError, match="max_sessions"):
        SessionContexts(max_sessions=0)
    with pytest.raises(ValueError, match="max_age_s"):
        SessionContexts(max_age_s=0)

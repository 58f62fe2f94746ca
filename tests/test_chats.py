"""Chats: when each is due (time zones, DST), its settings, claiming due chats once, group → supergroup moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from storage.chats import (
    active_destinations,
    chat_categories,
    claim_due_chats,
    count_active_chats,
    ensure_chat,
    get_chat,
    mark_inactive,
    migrate_chat,
    next_delivery_after,
    set_active,
    set_categories,
    set_language,
    set_schedule,
    toggle_category,
)
from storage.db import session_scope
from storage.deliveries import delivered_paper_ids, record_deliveries
from storage.favourites import list_favourites, toggle_favourite
from storage.ingest import Ingestor
from storage.models import Chat, Paper
from tests.conftest import sample_text

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, so a 09:00 digest is due in an hour
NINE_IN_SHANGHAI = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ZONES = ("Asia/Shanghai", "America/New_York", "Europe/London", "Europe/Dublin", "Australia/Lord_Howe",
         "America/Sao_Paulo", "America/St_Johns", "Pacific/Chatham", "Pacific/Apia", "Asia/Kolkata", "UTC")


def _at(text: str, zone: str) -> datetime:
    """A local wall time in a zone (first occurrence if ambiguous), as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _local(instant: datetime, zone: str) -> str:
    """What a clock in the zone shows, with its offset, for readable assertions."""
    return instant.astimezone(ZoneInfo(zone)).isoformat()


@pytest.mark.parametrize(("after", "digest_time", "zone", "expected"), [
    ("2026-11-20T08:30", "09:00", "Asia/Shanghai", "2026-11-20T09:00:00+08:00"),
    ("2026-11-20T09:30", "09:00", "Asia/Shanghai", "2026-11-21T09:00:00+08:00"),
    ("2026-11-20T23:50", "00:15", "America/New_York", "2026-11-21T00:15:00-05:00"),
    ("2026-12-31T22:00", "7:05", "Europe/London", "2027-01-01T07:05:00+00:00"),
    ("2026-07-01T08:59", "09:00", "Europe/London", "2026-07-01T09:00:00+01:00"),
])
def test_next_delivery_is_the_next_local_digest_time(after: str, digest_time: str, zone: str, expected: str) -> None:
    result = next_delivery_after(after=_at(after, zone), digest_time=digest_time, timezone=zone)
    assert result.tzinfo == UTC
    assert _local(result, zone) == expected


def test_the_same_utc_moment_means_a_different_digest_in_each_zone() -> None:
    after = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    due = {zone: next_delivery_after(after=after, digest_time="09:00", timezone=zone)
           for zone in ("Asia/Shanghai", "Europe/London", "America/New_York")}
    assert due == {"Asia/Shanghai": datetime(2026, 7, 1, 1, 0, tzinfo=UTC),
                   "Europe/London": datetime(2026, 7, 1, 8, 0, tzinfo=UTC),
                   "America/New_York": datetime(2026, 7, 1, 13, 0, tzinfo=UTC)}


def test_next_delivery_is_strictly_after() -> None:
    assert next_delivery_after(after=NINE_IN_SHANGHAI, digest_time="09:00", timezone="Asia/Shanghai") == \
        NINE_IN_SHANGHAI + timedelta(days=1)
    just_after = NINE_IN_SHANGHAI + timedelta(microseconds=1)
    assert next_delivery_after(after=just_after, digest_time="09:00", timezone="Asia/Shanghai") == \
        NINE_IN_SHANGHAI + timedelta(days=1)


def test_a_time_skipped_by_spring_forward_comes_when_the_clock_resumes() -> None:
    zone = "America/New_York"
    first = next_delivery_after(after=_at("2026-03-08T00:00", zone), digest_time="02:30", timezone=zone)
    assert _local(first, zone) == "2026-03-08T03:00:00-04:00"
    second = next_delivery_after(after=first, digest_time="02:30", timezone=zone)
    assert _local(second, zone) == "2026-03-09T02:30:00-04:00"


def test_a_time_repeated_by_fall_back_comes_once_at_its_first_occurrence() -> None:
    zone = "America/New_York"
    first = next_delivery_after(after=_at("2026-11-01T00:00", zone), digest_time="01:30", timezone=zone)
    assert _local(first, zone) == "2026-11-01T01:30:00-04:00"
    second = next_delivery_after(after=first, digest_time="01:30", timezone=zone)
    assert _local(second, zone) == "2026-11-02T01:30:00-05:00"
    between_the_two = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST, the repeated hour's second pass
    assert next_delivery_after(after=between_the_two, digest_time="01:30", timezone=zone) == second


def test_next_delivery_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_delivery_after(after=datetime(2026, 11, 20, 9, 0), digest_time="09:00", timezone="Asia/Shanghai")


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES),
       after=st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)),
       hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_next_delivery_properties(zone: str, after: datetime, hour: int, minute: int) -> None:
    digest_time = f"{hour:02d}:{minute:02d}"
    result = next_delivery_after(after=after, digest_time=digest_time, timezone=zone)
    assert after < result < after + timedelta(days=2)
    wall = result.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    if wall.time() != time(hour, minute):
        # Only allowed in a DST gap: the clock jumps at `result`, right over the digest time.
        before = (result - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        skipped = [datetime.combine(wall.date() - timedelta(days=days), time(hour, minute)) for days in (0, 1)]
        assert any(before < wanted <= wall for wanted in skipped), (zone, after, digest_time, wall)
    assert next_delivery_after(after=result, digest_time=digest_time, timezone=zone) > result


def _subscribe(session: Session, chat_id: int = 42, *, timezone: str = "Asia/Shanghai",
               digest_time: str = "09:00", now: datetime = NOW) -> Chat:
    """A freshly subscribed private chat."""
    chat, _created = ensure_chat(session=session, chat_id=chat_id, kind="private", title=None, ui_language="zh",
                                 digest_time=digest_time, timezone=timezone, now=now)
    return chat


def _stored(engine: Engine, chat_id: int = 42) -> Chat | None:
    """The chat as another session reads it after commit."""
    with session_scope(engine) as session:
        return get_chat(session=session, chat_id=chat_id)


def test_ensure_chat_subscribes_with_defaults_then_leaves_settings_alone(engine: Engine) -> None:
    with session_scope(engine) as session:
        chat, created = ensure_chat(session=session, chat_id=-100123, kind="group", title="ML club",
                                    ui_language="zh", digest_time="9:00", timezone="Asia/Shanghai", now=NOW)
    assert created
    chat = _stored(engine, -100123)
    assert (chat.kind, chat.title, chat.active, chat.language, chat.ui_language, chat.digest_time, chat.timezone) == \
        ("group", "ML club", True, "both", "zh", "09:00", "Asia/Shanghai")
    assert chat_categories(chat) == ["LG", "CV", "CL", "AS", "RO"]
    assert chat.next_due_at == NINE_IN_SHANGHAI

    with session_scope(engine) as session:
        set_language(session=session, chat_id=-100123, language="en")
        set_active(session=session, chat_id=-100123, active=False, now=NOW)
    with session_scope(engine) as session:
        _chat, created = ensure_chat(session=session, chat_id=-100123, kind="group", title="ML club (renamed)",
                                     ui_language="zh", digest_time="18:00", timezone="Europe/London", now=NOW)
    assert not created
    chat = _stored(engine, -100123)
    assert chat.title == "ML club (renamed)"
    assert (chat.active, chat.language, chat.ui_language, chat.digest_time, chat.timezone, chat.next_due_at) == \
        (False, "en", "en", "09:00", "Asia/Shanghai", NINE_IN_SHANGHAI)


def test_settings_change_and_are_stored(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session)
        assert set_categories(session=session, chat_id=42, categories=["ro", "LG", "LG"]).categories == "LG,RO"
        assert chat_categories(toggle_category(session=session, chat_id=42, category="CV")) == ["LG", "CV", "RO"]
        assert chat_categories(toggle_category(session=session, chat_id=42, category="lg")) == ["CV", "RO"]
        chat = set_schedule(session=session, chat_id=42, digest_time="21:30", timezone="Europe/London", now=NOW)
        assert chat.next_due_at == datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
        assert set_language(session=session, chat_id=42, language="en").ui_language == "en"
        assert set_language(session=session, chat_id=42, language="both").ui_language == "en"
    chat = _stored(engine)
    assert (chat.categories, chat.digest_time, chat.timezone, chat.language, chat.ui_language) == \
        ("CV,RO", "21:30", "Europe/London", "both", "en")
    with session_scope(engine) as session:
        assert set_language(session=session, chat_id=42, language="zh").ui_language == "zh"


def test_bad_settings_are_refused_with_a_readable_reason_and_change_nothing(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session)
        set_categories(session=session, chat_id=42, categories=["CV"])
    before = _stored(engine).model_dump()
    refusals = [
        (lambda s: set_categories(session=s, chat_id=42, categories=["LG", "XX"]), "unknown category 'XX'"),
        (lambda s: set_categories(session=s, chat_id=42, categories=[]), "at least one category"),
        (lambda s: toggle_category(session=s, chat_id=42, category="ML"), "unknown category 'ML'"),
        (lambda s: toggle_category(session=s, chat_id=42, category="CV"), "CV is the only category left"),
        (lambda s: set_schedule(session=s, chat_id=42, digest_time="25:99", timezone="Asia/Shanghai", now=NOW),
         "'25:99' is not a time of day: use HH:MM"),
        (lambda s: set_schedule(session=s, chat_id=42, digest_time="10:00", timezone="Mars/Olympus", now=NOW),
         "unknown time zone 'Mars/Olympus'"),
        (lambda s: set_schedule(session=s, chat_id=42, digest_time="10:00", timezone="America", now=NOW),
         "unknown time zone 'America'"),
        (lambda s: set_language(session=s, chat_id=42, language="fr"), "unknown language 'fr': choose zh, en or both"),
    ]
    for change, reason in refusals:
        with pytest.raises(ValueError, match=reason), session_scope(engine) as session:
            change(session)
    assert _stored(engine).model_dump() == before
    with pytest.raises(LookupError, match="chat 7 is not subscribed"), session_scope(engine) as session:
        set_language(session=session, chat_id=7, language="en")


def test_a_due_chat_is_claimed_once_and_moves_to_the_next_day(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session)
    with session_scope(engine) as session:
        assert claim_due_chats(session=session, now=NINE_IN_SHANGHAI - timedelta(seconds=1)) == []
    at = NINE_IN_SHANGHAI + timedelta(seconds=20)
    with session_scope(engine) as session:
        (claimed,) = claim_due_chats(session=session, now=at)
    assert (claimed.id, claimed.categories, claimed.language) == (42, "LG,CV,CL,AS,RO", "both")
    assert claimed.next_due_at == NINE_IN_SHANGHAI + timedelta(days=1)
    assert claimed.last_digest_on == date(2026, 11, 20)
    stored = _stored(engine)
    assert (stored.next_due_at, stored.last_digest_on) == (claimed.next_due_at, claimed.last_digest_on)
    with session_scope(engine) as session:
        assert claim_due_chats(session=session, now=at) == []


def test_a_bot_down_for_days_catches_up_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session)
    back_up = NINE_IN_SHANGHAI + timedelta(days=3, hours=5)
    with session_scope(engine) as session:
        (claimed,) = claim_due_chats(session=session, now=back_up)
    assert claimed.next_due_at == NINE_IN_SHANGHAI + timedelta(days=4)
    assert claimed.last_digest_on == date(2026, 11, 20)
    with session_scope(engine) as session:
        assert claim_due_chats(session=session, now=back_up) == []


def test_claims_respect_zone_limit_and_pauses(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session, 1)
        _subscribe(session, 2)
        _subscribe(session, 3, timezone="America/New_York")
        _subscribe(session, 4)
        set_active(session=session, chat_id=4, active=False, now=NOW)
        _subscribe(session, 5)
        mark_inactive(session=session, chat_id=5)
    with session_scope(engine) as session:
        assert [chat.id for chat in claim_due_chats(session=session, now=NINE_IN_SHANGHAI, limit=1)] == [1]
    with session_scope(engine) as session:
        assert [chat.id for chat in claim_due_chats(session=session, now=NINE_IN_SHANGHAI)] == [2]
    with session_scope(engine) as session:
        assert active_destinations(session=session) == [(1, 0), (2, 0), (3, 0)]
        assert count_active_chats(session=session) == 3


def test_resuming_skips_the_paused_days(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session)
        set_active(session=session, chat_id=42, active=False, now=NOW)
    resumed_at = NINE_IN_SHANGHAI + timedelta(days=3, hours=1)
    with session_scope(engine) as session:
        assert set_active(session=session, chat_id=42, active=True, now=resumed_at).next_due_at == \
            NINE_IN_SHANGHAI + timedelta(days=4)
    with session_scope(engine) as session:
        assert claim_due_chats(session=session, now=resumed_at) == []


def test_moving_the_digest_time_after_todays_digest_waits_for_tomorrow(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session)
    with session_scope(engine) as session:
        claim_due_chats(session=session, now=NINE_IN_SHANGHAI)
    with session_scope(engine) as session:
        chat = set_schedule(session=session, chat_id=42, digest_time="10:00", timezone="Asia/Shanghai",
                            now=NINE_IN_SHANGHAI + timedelta(minutes=30))
    assert _local(chat.next_due_at, "Asia/Shanghai") == "2026-11-21T10:00:00+08:00"


def test_two_racing_schedulers_claim_a_chat_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        _subscribe(session)
    rival_claimed: list[Chat] = []

    def rival_claims_between_select_and_update(state) -> None:  # type: ignore[no-untyped-def]
        """The other process commits its claim after this one read the chat as due, before it updates."""
        if state.is_update and not rival_claimed:
            with session_scope(engine) as rival:
                rival_claimed.extend(claim_due_chats(session=rival, now=NINE_IN_SHANGHAI))

    with session_scope(engine) as session:
        event.listen(session, "do_orm_execute", rival_claims_between_select_and_update)
        assert claim_due_chats(session=session, now=NINE_IN_SHANGHAI) == []
    assert [chat.id for chat in rival_claimed] == [42]
    assert _stored(engine).next_due_at == NINE_IN_SHANGHAI + timedelta(days=1)


def _paper_ids(engine: Engine) -> list[int]:
    """Ids of the seven papers of the first sample digest."""
    report = Ingestor(engine).ingest_text(sample_text("000"), source="000.txt", digest_date=date(2026, 11, 19))
    assert report.new == 7
    with session_scope(engine) as session:
        return list(session.exec(select(Paper.id).order_by(Paper.id)).all())


def _favourite_ids(engine: Engine, chat_id: int) -> set[int]:
    """Which papers the chat has starred."""
    with session_scope(engine) as session:
        papers, total = list_favourites(session=session, chat_id=chat_id, offset=0, limit=100)
    assert total == len(papers)
    return {paper.id for paper in papers}


def _delivered(engine: Engine, chat_id: int) -> set[int]:
    """Which papers the chat was sent."""
    with session_scope(engine) as session:
        return delivered_paper_ids(session=session, chat_id=chat_id)


def test_a_group_that_became_a_supergroup_keeps_everything(engine: Engine) -> None:
    papers = _paper_ids(engine)
    with session_scope(engine) as session:
        ensure_chat(session=session, chat_id=-100, kind="group", title="Reading group", ui_language="en",
                    digest_time="20:00", timezone="Europe/London", now=NOW)
        set_categories(session=session, chat_id=-100, categories=["CV", "CL"])
        for paper_id in papers[:2]:
            toggle_favourite(session=session, chat_id=-100, paper_id=paper_id, now=NOW)
        record_deliveries(session=session, chat_id=-100, paper_ids=papers[:3], kind="scheduled", message_id=9,
                          now=NOW)
    with session_scope(engine) as session:
        moved = migrate_chat(session=session, old_chat_id=-100, new_chat_id=-1001000)
    assert moved.id == -1001000
    assert _stored(engine, -100) is None
    chat = _stored(engine, -1001000)
    assert (chat.kind, chat.title, chat.categories, chat.digest_time, chat.timezone, chat.ui_language) == \
        ("supergroup", "Reading group", "CV,CL", "20:00", "Europe/London", "en")
    assert _favourite_ids(engine, -1001000) == set(papers[:2])
    assert _delivered(engine, -1001000) == set(papers[:3])
    assert _favourite_ids(engine, -100) == set() and _delivered(engine, -100) == set()
    with session_scope(engine) as session:
        assert migrate_chat(session=session, old_chat_id=-100, new_chat_id=-1001000).id == -1001000


def test_migrating_onto_an_existing_chat_merges_without_duplicates(engine: Engine) -> None:
    papers = _paper_ids(engine)
    with session_scope(engine) as session:
        ensure_chat(session=session, chat_id=-100, kind="group", title="Reading group", ui_language="zh",
                    digest_time="20:00", timezone="Europe/London", now=NOW)
        set_language(session=session, chat_id=-100, language="zh")
        for paper_id in (papers[0], papers[1]):
            toggle_favourite(session=session, chat_id=-100, paper_id=paper_id, now=NOW)
        record_deliveries(session=session, chat_id=-100, paper_ids=papers[:3], kind="scheduled", message_id=1,
                          now=NOW)
        ensure_chat(session=session, chat_id=-1001000, kind="supergroup", title="Reading group",
                    ui_language="en", digest_time="09:00", timezone="Asia/Shanghai", now=NOW)
        for paper_id in (papers[1], papers[3]):
            toggle_favourite(session=session, chat_id=-1001000, paper_id=paper_id, now=NOW)
        record_deliveries(session=session, chat_id=-1001000, paper_ids=[papers[2], papers[4]], kind="today",
                          message_id=2, now=NOW)
    with session_scope(engine) as session:
        migrate_chat(session=session, old_chat_id=-100, new_chat_id=-1001000)
    chat = _stored(engine, -1001000)
    assert (chat.kind, chat.language, chat.ui_language, chat.digest_time, chat.timezone) == \
        ("supergroup", "zh", "zh", "20:00", "Europe/London")
    assert _stored(engine, -100) is None
    assert _favourite_ids(engine, -1001000) == {papers[0], papers[1], papers[3]}
    assert _delivered(engine, -1001000) == {papers[0], papers[1], papers[2], papers[4]}
    assert _favourite_ids(engine, -100) == set() and _delivered(engine, -100) == set()


def test_a_group_migrating_mid_delivery_keeps_its_pending_digest_but_frees_the_lease(engine: Engine) -> None:
    from storage.chats import claim_due_chats, ensure_chat, migrate_chat
    from storage.models import PendingDigest
    from storage.pending import lease_pending_digests

    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        ensure_chat(session=session, chat_id=-42, kind="group", title="g", ui_language="en", digest_time="09:00",
                    timezone="Asia/Shanghai", now=now - timedelta(days=1))
    with session_scope(engine) as session:
        assert [chat.id for chat in claim_due_chats(session=session, now=now)] == [-42]
        (leased,) = lease_pending_digests(session=session, now=now, owner="worker-a", lease_seconds=300, limit=10)
        assert leased.chat_id == -42
    with session_scope(engine) as session:
        migrate_chat(session=session, old_chat_id=-42, new_chat_id=-10042)
    with session_scope(engine) as session:
        assert session.get(PendingDigest, (-42, 0)) is None
        moved = session.get(PendingDigest, (-10042, 0))
        assert moved is not None and moved.lease_owner is None, "the next tick can deliver it under the new id"
        (again,) = lease_pending_digests(session=session, now=now, owner="worker-b", lease_seconds=300, limit=10)
        assert again.chat_id == -10042
        assert session.get(Chat, (-10042, 0)).next_due_at > now, "the claim's due time moved with the chat"

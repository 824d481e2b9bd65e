"""Callback-data and deep-link codec: round trips, 64-byte bound, and decode that never raises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models import Link, Question
from bot.ui import callback_data as cb

ids = st.from_regex(r"[a-z0-9_-]{1,32}", fullmatch=True)
numbers = st.integers(0, cb.MAX_NUMBER)
checks = st.text(st.sampled_from("0123456789abcdefghijklmnopqrstuvwxyz"), min_size=4, max_size=4)
actions = st.one_of(
    st.builds(cb.Open, ids, numbers),
    st.builds(cb.FullAnswer, ids, numbers),
    st.builds(cb.Related, ids, numbers, checks),
    st.builds(cb.Neighbour, ids, st.sampled_from(["prev", "next"]), checks),
    st.builds(cb.MoreRelated, ids, numbers),
    st.just(cb.NoneOfThese()),
)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        (cb.Open("k3x9q2mfa7c1"), "q:k3x9q2mfa7c1"),
        (cb.Open("k3x9q2mfa7c1", 3), "q:k3x9q2mfa7c1:3"),
        (cb.FullAnswer("k3x9q2mfa7c1", 0), "a:k3x9q2mfa7c1:0"),
        (cb.Related("k3x9q2mfa7c1", 7, "ab12"), "r:k3x9q2mfa7c1:7:ab12"),
        (cb.Neighbour("k3x9q2mfa7c1", "prev", "ab12"), "p:k3x9q2mfa7c1:ab12"),
        (cb.Neighbour("k3x9q2mfa7c1", "next", "ab12"), "n:k3x9q2mfa7c1:ab12"),
        (cb.MoreRelated("k3x9q2mfa7c1", 4), "m:k3x9q2mfa7c1:4"),
        (cb.NoneOfThese(), "x"),
    ],
)
def test_encode_uses_documented_format_and_decodes_back(action: cb.Action, data: str) -> None:
    assert cb.encode(action) == data
    assert cb.decode(data) == action


@given(actions)
def test_every_action_round_trips_within_64_ascii_bytes(action: cb.Action) -> None:
    data = cb.encode(action)
    assert data.isascii() and len(data.encode()) <= 64
    assert cb.decode(data) == action


@given(st.text(max_size=100))
def test_decode_never_raises_on_arbitrary_text(data: str) -> None:
    result = cb.decode(data)
    assert result is None or cb.encode(result) == data


@given(st.binary(max_size=80))
def test_decode_never_raises_on_bytes_or_latin1_text(raw: bytes) -> None:
    assert cb.decode(raw) is None
    result = cb.decode(raw.decode("latin-1"))
    assert result is None or cb.encode(result) == raw.decode("latin-1")


@pytest.mark.parametrize(
    "data",
    [
        "",
        "q",
        "q:",
        "q:abc:",
        "a:abc",
        "a:abc:",
        "r:abc:1",
        "r:abc:1:ab",
        "p:abc",
        "n:abc:ab1",
        "q:ABC",
        "q:abc:01",
        "q:abc:1000000",
        "q:abc:-1",
        "q:abc: 1",
        "q:abc:1_0",
        "a:abc:١",
        "q:abc\n",
        "q:abc:1\n",
        "q:ab c",
        "q:" + "a" * 33,
        "q:残差",
        "z:abc",
        "x:1",
        "xx",
        "q:abc:1:2",
        "Q:abc",
        "q:" + "a" * 100,
        None,
        42,
    ],
)
def test_decode_rejects_forged_truncated_and_garbage_data(data: object) -> None:
    assert cb.decode(data) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: cb.Open("ABC"),
        lambda: cb.Open("a" * 33),
        lambda: cb.Open(""),
        lambda: cb.Open("abc", -1),
        lambda: cb.FullAnswer("abc", cb.MAX_NUMBER + 1),
        lambda: cb.Related("abc", 0, "XYZ!"),
        lambda: cb.Neighbour("abc", "up", "ab12"),  # type: ignore[arg-type]
        lambda: cb.MoreRelated("abc", -1),
    ],
)
def test_actions_reject_values_the_codec_cannot_carry(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_title_check_is_short_stable_and_tells_titles_apart() -> None:
    check = cb.title_check("残差网络为什么有效？")
    assert len(check) == 4 and check.isalnum() and check.isascii()
    assert check == cb.title_check(" 残差网络为什么有效？ ")
    assert check != cb.title_check("残差网络为什么无效？")


def test_resolve_finds_the_link_or_reports_stale() -> None:
    q = Question(
        "abc",
        "t",
        related=(Link("甲", "id1"), Link("乙")),
        prev=Link("前"),
    )
    assert cb.resolve(q, cb.Related("abc", 1, cb.title_check("乙"))) == Link("乙")
    assert cb.resolve(q, cb.Neighbour("abc", "prev", cb.title_check("前"))) == Link("前")
    # list changed, index gone, other question, no next link
    assert cb.resolve(q, cb.Related("abc", 0, cb.title_check("乙"))) is None
    assert cb.resolve(q, cb.Related("abc", 5, cb.title_check("乙"))) is None
    assert cb.resolve(q, cb.Related("zzz", 1, cb.title_check("乙"))) is None
    assert cb.resolve(q, cb.Neighbour("abc", "next", cb.title_check("前"))) is None


@given(ids)
def test_start_payload_round_trips_and_uses_allowed_characters(qid: str) -> None:
    payload = cb.encode_start_payload(qid)
    assert len(payload) <= 64
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in payload)
    assert cb.decode_start_payload(payload) == qid


@pytest.mark.parametrize(
    "payload", ["", "q_", "q_ABC", "x_abc", "q-abc", "q_abc\n", "q_" + "a" * 33, None, "abc"]
)
def test_decode_start_payload_rejects_foreign_payloads(payload: object) -> None:
    assert cb.decode_start_payload(payload) is None


def test_deep_link_points_at_the_bot() -> None:
    assert cb.deep_link("@archbot", "k3x9") == "https://t.me/archbot?start=q_k3x9"

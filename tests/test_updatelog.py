"""The one-line-per-update log format: words and numbers only, the update's own type when nobody noted it."""

from types import SimpleNamespace

from bot.telegram.updatelog import default_kind, line


def test_line_formats_fields_in_order_with_one_decimal_and_yes_no():
    text = line(7, "question", {"band": "answer", "score": 97.14, "match_ms": 0.83, "rate_limited": False}, 3.456)
    assert text == "update=7 kind=question band=answer score=97.1 match_ms=0.8 rate_limited=no total_ms=3.5"


def test_an_update_nobody_handled_is_named_by_its_type():
    assert default_kind(SimpleNamespace(message=None, edited_message=object())) == "edited_message"
    assert default_kind(SimpleNamespace(poll_answer=object())) == "poll_answer"
    assert default_kind(SimpleNamespace()) == "other"

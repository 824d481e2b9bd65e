"""Questions as JSON Lines: one question per line, in and out, round-trip exact.

A line: ``{"id", "title", "alt_titles", "answers": [{"author", "text"}], "related": [titles],
"prev": title|null, "next": title|null, "source": [paths]}``.
"""

from __future__ import annotations

import json
from typing import Any

from bot.archive.ids import is_valid_id, legacy_question_id, question_id
from bot.models import Answer, Link, Question


def to_json(q: Question) -> str:
    """One question as one JSON line (no trailing newline)."""
    record = {
        "id": q.id,
        "title": q.title,
        "alt_titles": list(q.alt_titles),
        "answers": [{"author": a.author, "text": a.text} for a in q.answers],
        "related": [link.title for link in q.related],
        "prev": q.prev.title if q.prev else None,
        "next": q.next.title if q.next else None,
        "source": list(q.sources),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _str_list(record: dict[str, Any], key: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' must be a list of strings")
    return tuple(value)


def _opt_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string or null")
    return value


def from_json(line: str) -> Question:
    """Parse one JSON line into a question. Raises ``ValueError`` saying what is wrong."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("a line must be a JSON object")
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"holds a lone surrogate ({exc.object[exc.start]!r}), which is not text") from None
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("'title' is missing or empty")
    qid = record.get("id") or question_id(title)
    if qid == legacy_question_id(title):  # exported by an earlier version: the id follows today's rule
        qid = question_id(title)
    if not is_valid_id(qid):
        raise ValueError("'id' must be 1-32 characters of a-z, 0-9, _ and -")
    raw_answers = record.get("answers", [])
    if not isinstance(raw_answers, list):
        raise ValueError("'answers' must be a list")
    answers = []
    for n, a in enumerate(raw_answers):
        if not isinstance(a, dict) or not isinstance(a.get("text"), str):
            raise ValueError(f"answers[{n}] must be an object with a string 'text'")
        author = a.get("author") or "?"
        if not isinstance(author, str):
            raise ValueError(f"answers[{n}].author must be a string")
        answers.append(Answer(author, a["text"]))
    prev, nxt = _opt_str(record, "prev"), _opt_str(record, "next")
    return Question(
        id=qid,
        title=title,
        answers=tuple(answers),
        related=tuple(Link(t) for t in _str_list(record, "related")),
        prev=Link(prev) if prev else None,
        next=Link(nxt) if nxt else None,
        alt_titles=_str_list(record, "alt_titles"),
        sources=_str_list(record, "source"),
    )

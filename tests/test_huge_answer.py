"""Issue 10 item 8: one huge answer neither blocks other users nor floods the chat; answers past #9,999
can be paged."""

from __future__ import annotations

import asyncio
import json
import time

from bot.models import Answer, Question
from bot.ui import callback_data as cb
from bot.ui.render import Renderer
from bot.ui.reply import RenderSettings
from tests.harness import SAMPLE, running_bot

USER, OTHER = 8181, 8282
TITLE = "一个非常非常长的回答?"
HUGE = ("这是一段很长的回答，用来测试机器人在超长文本下的表现。" * 40 + "\n\n") * 2500  # ~5.6 million characters


async def test_a_huge_answer_sends_ten_parts_per_press_and_help_is_not_delayed(fake_api, tmp_path):
    folder = tmp_path / "huge"
    folder.mkdir()
    record = {"title": TITLE, "answers": [{"author": "长", "text": HUGE}, {"author": "短", "text": "短回答。"}]}
    (folder / "huge.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    async with running_bot(fake_api, tmp_path, archive={"paths": [str(SAMPLE), str(folder)]}) as bot:
        [view] = await bot.ask(USER, TITLE)
        full = next(b for b in view.buttons() if "全文" in b["text"])
        fake_api.push_callback(view, full["callback_data"])
        await asyncio.sleep(0.05)
        started = time.monotonic()
        [helped] = await bot.ask(OTHER, "/help", timeout=20)
        help_seconds = time.monotonic() - started
        parts = await fake_api.wait_for_messages(11, USER, timeout=60)
        await asyncio.sleep(1.0)
        sent = fake_api.sent_messages(USER)[1:]
        assert len(sent) == 10
        assert help_seconds < 2.0, help_seconds
        more = sent[-1].button("继续阅读 ▶（11/")
        assert cb.decode(more["callback_data"]) == cb.FullAnswer(cb.decode(full["callback_data"]).id, 0, 10)
        following = await bot.press(sent[-1], more["text"], n=10, timeout=30)
        assert following[0].text.startswith("这是") and "（11/" in following[0].text
        assert parts and helped.text


def test_answers_past_9999_can_be_paged():
    r = Renderer(RenderSettings())
    q = Question(id="many", title="很多回答?", answers=tuple(Answer("a", f"回答{i}。" * 200) for i in range(10_050)))
    reply = r.question(q, offset=10_000)
    actions = [cb.decode(b.data) for row in reply.buttons for b in row if b.data]
    assert cb.Open("many", 10_003) in actions and cb.FullAnswer("many", 10_000) in actions
    [full] = r.answer_full(q, 10_010, max_parts=10)
    assert cb.FullAnswer("many", 10_011) in [cb.decode(b.data) for row in full.buttons for b in row]

"""UI strings in zh-Hans, zh-Hant and en, and the choice of a user's locale.

Strings are plain text (no HTML; the renderer escapes and formats them). Placeholders use
``str.format`` names and are the same in every locale (a test checks). Access is typed:
``strings("en").more_answers.format(k=3)``; an unknown key is an AttributeError, and every key
exists in every locale because ``Strings`` has no defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LOCALE = "zh-Hans"


@dataclass(frozen=True)
class Strings:
    """Every UI string of one locale."""

    start: str
    help: str
    not_text: str
    stale: str
    rate_limited: str
    none_of_these: str
    error: str
    no_match: str
    nearest: str
    tips: str
    did_you_mean: str
    none_of_these_button: str
    answers_range: str
    no_answers: str
    empty_answer: str
    anonymous: str
    untitled: str
    read_full: str
    more_answers: str
    related: str
    prev: str
    next: str
    share: str
    web: str
    back_to_question: str
    next_answer: str
    continue_reading: str
    part: str
    stats_title: str
    stats_empty: str
    stats_more: str
    band_answer: str
    band_did_you_mean: str
    band_no_match: str
    inline_no_answers: str
    cmd_ask: str
    cmd_random: str
    cmd_help: str
    private: str
    ask_usage: str
    empty_archive: str
    reloaded: str
    gone: str
    example: str
    ask_example: str
    smalltalk_greeting: str
    smalltalk_thanks: str
    smalltalk_bye: str
    smalltalk_laughter: str
    smalltalk_about_bot: str
    smalltalk_complaint: str
    smalltalk_praise: str
    smalltalk_emoji: str
    smalltalk_other: str
    smalltalk_hint: str
    smalltalk_hint_plain: str
    topic_title: str
    topic_range: str
    topic_more: str
    more_related: str
    related_hint: str
    topic_not_archived: str
    topic_nothing_near: str


_ZH_HANS = Strings(
    start=(
        "你好！我是知乎存档问答机器人。\n\n"
        "直接把问题发给我，我会在存档里找到最接近的问题，并把大家的回答带给你。\n"
        "发送 /help 查看用法，/random 随便看一个问题。"
    ),
    help=(
        "直接发送你的问题就行。\n\n"
        "• 用完整的一句话提问，效果最好\n"
        "• 简体、繁体都可以，打错字也没关系\n"
        "• 回答太长时，点「全文」查看完整内容\n"
        "• 在任意聊天里输入 @ 本机器人的用户名加问题，可以把答案分享出去\n\n"
        "命令：\n/random 随机看一个问题\n/help 显示这条帮助"
    ),
    not_text="我只能读懂文字消息，请用文字把问题发给我吧。",
    stale="这个按钮已经失效：对应的问题已被删除或更改。请重新提问。",
    rate_limited="消息发得有点快，请稍等几秒再试。",
    none_of_these="抱歉没能找到你想要的。换个说法，或者用更完整的一句话再问一次吧。",
    error="出了点问题，请稍后再试。",
    no_match="存档里没有找到与「{query}」匹配的问题。",
    nearest="最接近的几个问题：",
    tips=(
        "提问小贴士：\n"
        "• 用完整的一句话描述问题\n"
        "• 保留关键词，比如人名、地名、术语\n"
        "• 去掉与问题无关的寒暄和表情"
    ),
    did_you_mean="你想问的是下面哪个问题？",
    none_of_these_button="都不是",
    answers_range="第 {range} 个回答，共 {total} 个",
    no_answers="这个问题暂时没有存档的回答。",
    empty_answer="（空白回答）",
    anonymous="匿名用户",
    untitled="（无标题）",
    read_full="📖 #{n} 全文",
    more_answers="更多回答（还有 {k} 个）",
    related="相关话题",
    prev="◀ 上一个讨论",
    next="下一个讨论 ▶",
    share="📤 分享",
    web="🌐 网页版",
    back_to_question="↩ 返回问题",
    next_answer="下一个回答 ▶",
    continue_reading="继续阅读 ▶（{i}/{n}）",
    part="（{i}/{n}）",
    stats_title="最常见的未解答提问",
    stats_empty="还没有未解答的提问。",
    stats_more="……还有 {k} 条",
    band_answer="已回答",
    band_did_you_mean="待确认",
    band_no_match="无匹配",
    inline_no_answers="暂无回答",
    cmd_ask="提问（群组里也可用）",
    cmd_random="随机看一个问题",
    cmd_help="用法说明",
    private="抱歉，这个机器人只对指定的用户开放。",
    ask_usage="用法：/ask 你的问题",
    empty_archive="存档还是空的：管理员需要先导入页面。",
    reloaded="存档已重新载入：共 {n} 个问题。",
    gone="这个问题已不在存档里（可能被删除或更改了）。直接发送问题试试吧。",
    example="例如：{example}",
    ask_example="例如：/ask {example}",
    smalltalk_greeting="你好！👋 我是存档问答机器人。",
    smalltalk_thanks="不客气，很高兴能帮上忙！",
    smalltalk_bye="再见！有问题随时来问我。",
    smalltalk_laughter="😄 看来你心情不错！",
    smalltalk_about_bot="我是一个机器人：我在知乎问答的存档里找和你的问题最接近的讨论，把大家的回答带给你。",
    smalltalk_complaint="抱歉没帮上忙。换个说法，或者用更完整的一句话再问一次吧。",
    smalltalk_praise="谢谢夸奖！😊",
    smalltalk_emoji="🙂",
    smalltalk_other="我在呢。",
    smalltalk_hint="想问什么直接发给我，例如：{example}",
    smalltalk_hint_plain="想问什么直接发给我就行。",
    topic_title="存档里有 {n} 个关于「{topic}」的问题",
    topic_range="第 {range} 个",
    topic_more="更多 ▶",
    more_related="更多相关话题（{k}）",
    related_hint="带 🔍 的话题不在存档里：点一下，看看存档里最接近的问题。",
    topic_not_archived="存档里没有「{topic}」这个话题。",
    topic_nothing_near="存档里也没有与它相近的问题。",
)

_ZH_HANT = Strings(
    start=(
        "你好！我是知乎存檔問答機器人。\n\n"
        "直接把問題傳給我，我會在存檔裡找到最接近的問題，並把大家的回答帶給你。\n"
        "傳送 /help 查看用法，/random 隨便看一個問題。"
    ),
    help=(
        "直接傳送你的問題就行。\n\n"
        "• 用完整的一句話提問，效果最好\n"
        "• 繁體、簡體都可以，打錯字也沒關係\n"
        "• 回答太長時，點「全文」查看完整內容\n"
        "• 在任意聊天裡輸入 @ 本機器人的使用者名稱加問題，可以把答案分享出去\n\n"
        "指令：\n/random 隨機看一個問題\n/help 顯示這則說明"
    ),
    not_text="我只看得懂文字訊息，請用文字把問題傳給我吧。",
    stale="這個按鈕已經失效：對應的問題已被刪除或更改。請重新提問。",
    rate_limited="訊息傳得有點快，請稍等幾秒再試。",
    none_of_these="抱歉沒能找到你想要的。換個說法，或者用更完整的一句話再問一次吧。",
    error="出了點問題，請稍後再試。",
    no_match="存檔裡沒有找到與「{query}」相符的問題。",
    nearest="最接近的幾個問題：",
    tips=(
        "提問小訣竅：\n"
        "• 用完整的一句話描述問題\n"
        "• 保留關鍵字，例如人名、地名、術語\n"
        "• 去掉與問題無關的寒暄和表情"
    ),
    did_you_mean="你想問的是下面哪個問題？",
    none_of_these_button="都不是",
    answers_range="第 {range} 個回答，共 {total} 個",
    no_answers="這個問題暫時沒有存檔的回答。",
    empty_answer="（空白回答）",
    anonymous="匿名使用者",
    untitled="（無標題）",
    read_full="📖 #{n} 全文",
    more_answers="更多回答（還有 {k} 個）",
    related="相關話題",
    prev="◀ 上一個討論",
    next="下一個討論 ▶",
    share="📤 分享",
    web="🌐 網頁版",
    back_to_question="↩ 返回問題",
    next_answer="下一個回答 ▶",
    continue_reading="繼續閱讀 ▶（{i}/{n}）",
    part="（{i}/{n}）",
    stats_title="最常見的未解答提問",
    stats_empty="還沒有未解答的提問。",
    stats_more="……還有 {k} 筆",
    band_answer="已回答",
    band_did_you_mean="待確認",
    band_no_match="無相符",
    inline_no_answers="暫無回答",
    cmd_ask="提出一個問題",
    cmd_random="隨機看一個問題",
    cmd_help="使用說明",
    private="抱歉，這個機器人只對指定的使用者開放。",
    ask_usage="用法：/ask 你的問題",
    empty_archive="存檔還是空的：管理員需要先匯入頁面。",
    reloaded="存檔已重新載入：共 {n} 個問題。",
    gone="這個問題已不在存檔裡（可能被刪除或更改了）。直接傳送問題試試吧。",
    example="例如：{example}",
    ask_example="例如：/ask {example}",
    smalltalk_greeting="你好！👋 我是存檔問答機器人。",
    smalltalk_thanks="不客氣，很高興能幫上忙！",
    smalltalk_bye="再見！有問題隨時來問我。",
    smalltalk_laughter="😄 看來你心情不錯！",
    smalltalk_about_bot="我是一個機器人：我在知乎問答的存檔裡找和你的問題最接近的討論，把大家的回答帶給你。",
    smalltalk_complaint="抱歉沒幫上忙。換個說法，或者用更完整的一句話再問一次吧。",
    smalltalk_praise="謝謝誇獎！😊",
    smalltalk_emoji="🙂",
    smalltalk_other="我在呢。",
    smalltalk_hint="想問什麼直接傳給我，例如：{example}",
    smalltalk_hint_plain="想問什麼直接傳給我就行。",
    topic_title="存檔裡有 {n} 個關於「{topic}」的問題",
    topic_range="第 {range} 個",
    topic_more="更多 ▶",
    more_related="更多相關話題（{k}）",
    related_hint="帶 🔍 的話題不在存檔裡：點一下，看看存檔裡最接近的問題。",
    topic_not_archived="存檔裡沒有「{topic}」這個話題。",
    topic_nothing_near="存檔裡也沒有與它相近的問題。",
)

_EN = Strings(
    start=(
        "Hi! I answer questions from an archive of Zhihu Q&A pages.\n\n"
        "Just send me a question and I'll find the closest archived one and show you its answers.\n"
        "Send /help for how it works, or /random to browse."
    ),
    help=(
        "Just send your question.\n\n"
        "• A full sentence works best\n"
        "• Simplified or Traditional Chinese both work, and typos are fine\n"
        "• When an answer is long, tap \u201cFull\u201d to read all of it\n"
        "• Type @ and this bot's username plus a question in any chat to share an answer\n\n"
        "Commands:\n/random a random question\n/help show this help"
    ),
    not_text="I can only read text messages. Please send your question as text.",
    stale="This button has expired: its question was removed or changed. Please ask again.",
    rate_limited="You're sending messages a bit fast. Please wait a few seconds and try again.",
    none_of_these="Sorry I couldn't find it. Try other words, or ask again as a full sentence.",
    error="Something went wrong. Please try again in a moment.",
    no_match="The archive has no question matching \u201c{query}\u201d.",
    nearest="The closest questions:",
    tips=(
        "Tips for asking:\n"
        "• Describe the question in one full sentence\n"
        "• Keep the key words: names, places, terms\n"
        "• Leave out greetings and emoji"
    ),
    did_you_mean="Which of these did you mean?",
    none_of_these_button="None of these",
    answers_range="#{range} of {total} answers",
    no_answers="No answers to this question are archived yet.",
    empty_answer="(empty answer)",
    anonymous="Anonymous",
    untitled="(untitled)",
    read_full="📖 Full #{n}",
    more_answers="More answers ({k} left)",
    related="Related topics",
    prev="◀ Previous",
    next="Next ▶",
    share="📤 Share",
    web="🌐 On the web",
    back_to_question="↩ Back to question",
    next_answer="Next answer ▶",
    continue_reading="Continue reading ▶ ({i}/{n})",
    part="({i}/{n})",
    stats_title="Most frequent unanswered queries",
    stats_empty="No unanswered queries yet.",
    stats_more="… and {k} more",
    band_answer="answered",
    band_did_you_mean="did you mean",
    band_no_match="no match",
    inline_no_answers="No answers yet",
    cmd_ask="Ask a question (works in groups too)",
    cmd_random="A random question",
    cmd_help="How to use this bot",
    private="Sorry, this bot is open only to certain users.",
    ask_usage="Usage: /ask followed by your question.",
    empty_archive="The archive is empty: the owner needs to ingest pages first.",
    reloaded="Archive reloaded: {n} questions.",
    gone="That question is no longer in the archive (removed or changed). Just send your question instead.",
    example="For example: {example}",
    ask_example="For example: /ask {example}",
    smalltalk_greeting="Hi! 👋 I answer questions from an archive of Q&A pages.",
    smalltalk_thanks="You're welcome, glad to help!",
    smalltalk_bye="Bye! Come back any time you have a question.",
    smalltalk_laughter="😄 Glad you're having fun!",
    smalltalk_about_bot=(
        "I'm a bot: I look for the archived Zhihu discussion closest to your question and show you its answers."
    ),
    smalltalk_complaint="Sorry I couldn't help. Try other words, or ask again as a full sentence.",
    smalltalk_praise="Thank you! 😊",
    smalltalk_emoji="🙂",
    smalltalk_other="I'm here.",
    smalltalk_hint="Just send me a question, for example: {example}",
    smalltalk_hint_plain="Just send me a question.",
    topic_title="The archive has {n} questions about \u201c{topic}\u201d",
    topic_range="#{range}",
    topic_more="More ▶",
    more_related="More related topics ({k})",
    related_hint="Topics marked 🔍 are not in the archive: tap one to see the closest archived questions.",
    topic_not_archived="The topic \u201c{topic}\u201d is not in the archive.",
    topic_nothing_near="Nothing close to it is archived either.",
)

_TABLE: dict[str, Strings] = {"zh-Hans": _ZH_HANS, "zh-Hant": _ZH_HANT, "en": _EN}

_HANS_TAGS = frozenset({"zh", "zh-cn", "zh-hans", "zh-sg", "zh-my"})
_HANT_TAGS = frozenset({"zh-tw", "zh-hk", "zh-mo", "zh-hant"})


def strings(locale: str) -> Strings:
    """The strings of a supported ``locale`` (one of ``LOCALES``); KeyError otherwise."""
    return _TABLE[locale]


def is_supported(locale: str) -> bool:
    """True for one of ``LOCALES``."""
    return locale in _TABLE


def pick_locale(language_code: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map a Telegram ``language_code`` (IETF tag) to a supported locale, else ``default``.

    zh, zh-CN, zh-Hans(-*), zh-SG → zh-Hans; zh-TW, zh-HK, zh-MO, zh-Hant(-*) → zh-Hant; en* → en.
    Case and ``_``/``-`` are ignored. ``default`` is returned as given (validate it at start-up).
    """
    if not language_code:
        return default
    tag = language_code.strip().lower().replace("_", "-")
    if tag in _HANT_TAGS or tag.startswith("zh-hant"):
        return "zh-Hant"
    if tag in _HANS_TAGS or tag.startswith("zh-hans"):
        return "zh-Hans"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return default

"""Small-talk detection and politeness stripping, before anything is matched against the archive.

A message is small talk when, after removing small-talk phrases (greetings, thanks, laughter, goodbyes,
praise, complaints, acknowledgements, questions about the bot), chat particles, address words and
emoji, *nothing* is left.  A message that still contains a real question is never small talk; its
greeting and politeness wrapper (你好，请问 … 谢谢) is stripped instead (:meth:`SmallTalk.strip_politeness`).

Works on Simplified text: the caller passes a normaliser that folds Traditional to Simplified,
casefolds and turns punctuation into spaces (:class:`bot.search.analysis.Normalizer`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

#: Phrases per kind (Simplified, lower case).  Matched as whole runs of the message, longest first.
LEXICON: dict[str, tuple[str, ...]] = {
    "greeting": (
        "你好", "您好", "你们好", "大家好", "hi", "hello", "hey", "yo", "哈喽", "哈罗", "哈啰", "嗨", "嗨嗨",
        "在吗", "在不在", "在么", "有人吗", "有人在吗", "有人在么", "在", "早", "早安", "早上好", "上午好",
        "中午好", "午安", "下午好", "晚上好", "初次见面", "请多指教", "多多指教", "我来了", "我又来了",
        "又来了", "我回来了", "我回来啦", "打扰了", "打扰一下", "冒昧打扰一下", "冒昧打扰", "喂", "滴滴",
        "戳一下", "戳戳", "good morning", "good afternoon", "good evening", "morning", "everyone",
        "听得到吗", "安安", "哈喽哈喽", "你好你好",
    ),
    "thanks": (
        "谢谢", "谢啦", "谢了", "多谢", "感谢", "感谢感谢", "非常感谢", "万分感谢", "太感谢了", "十分感谢",
        "谢谢你", "谢谢您", "谢谢大家", "谢谢大佬", "感谢大佬", "感谢大大", "谢谢老铁", "thank you", "thanks",
        "thank", "thx", "ty", "3q", "3x", "谢谢啊", "麻烦你了", "麻烦了", "辛苦了", "辛苦啦", "感恩",
        "很有帮助", "有帮助", "受教了", "学到了", "懂了", "明白了", "多谢多谢", "thanks a lot", "a lot",
    ),
    "bye": (
        "再见", "拜拜", "拜", "掰掰", "bye", "bye bye", "byebye", "88", "886", "回见", "下次见", "明天见",
        "改天见", "改天再聊", "不聊了", "下了", "先下了", "走了", "我走了", "先走了", "撤了", "我先撤了",
        "溜了", "溜了溜了", "先这样吧", "先这样", "晚安", "我去睡了", "睡了", "睡了睡了", "睡觉了",
        "good night", "night", "see you", "see ya", "later", "告辞",
    ),
    "laughter": (
        "哈", "哈哈", "哈哈哈", "嘿嘿", "嘻嘻", "呵呵", "hhh", "lol", "lmao", "rofl", "xswl", "笑死",
        "笑死我了", "笑死了", "笑不活了", "绷不住了", "蚌埠住了", "噗", "噗哈哈", "好笑", "太好笑了",
        "233", "2333", "草", "乐",
    ),
    "praise": (
        "牛", "牛逼", "牛b", "nb", "牛啊", "牛哇", "666", "6", "厉害", "厉害了", "好厉害", "太厉害了", "强",
        "太强了", "绝了", "yyds", "妙啊", "妙", "赞", "点赞", "给你点个赞", "点个赞", "棒", "真棒", "好棒",
        "nice", "cool", "awesome", "great", "good", "wow", "哇塞", "哇", "爱了", "爱了爱了", "爱你",
        "比心", "么么哒", "可以可以", "不错", "不错不错", "awsl", "好家伙", "666666", "tql",
    ),
    "complaint": (
        "答非所问", "牛头不对马嘴", "驴唇不对马嘴", "人工智障", "智障", "不是这个", "不是这个意思",
        "我问的不是这个", "你答错了", "答错了", "错了", "不对", "不对不对", "没用", "一点用都没有",
        "没什么用", "有什么用", "跑题了", "跑题", "离题了", "你好笨", "好笨", "笨", "太笨了", "垃圾",
        "能不能认真点", "认真点", "重新回答", "再来一次", "换一个", "又是这个", "怎么又是这个",
        "这回答也太水了", "太水了", "你是复读机吗", "复读机", "你在说什么", "你在说什么啊", "什么鬼",
        "无语", "无语了", "我服了", "服了", "太离谱了", "离谱", "stupid", "you are so stupid", "useless",
        "wrong",
    ),
    "other": (
        "嗯", "嗯嗯", "哦", "哦哦", "噢", "好", "好的", "好滴", "好嘞", "好喔", "好吧", "行", "行吧", "ok",
        "okay", "ok的", "收到", "收到收到", "了解", "知道了", "明白", "明白了", "没问题", "对", "对对对",
        "是的", "got it", "got", "it", "啊这", "啊", "我去", "卧槽", "woc", "wc", "天哪", "天啊", "omg",
        "真的假的", "真的吗", "不会吧", "不会吧不会吧", "我靠", "what", "嗯哼", "orz", "qaq", "qwq",
        "tat", "emmm", "emm", "呃", "额", "啥", "什么", "嗯嗯嗯", "真的",
    ),
}

#: Questions about the bot itself (matched against the whole remaining text, after particles).
ABOUT_BOT: tuple[str, ...] = (
    r"(你|您)(到底)?是(谁|哪位|什么|啥|什么东西|机器人|人|真人|人还是机器|ai|bot|gpt|chatgpt|人工智能"
    r"|谁做的|谁开发的|谁写的|知乎官方的|官方的|复读机)",
    r"(你|您)(叫|叫做)(什么|啥)(名字)?",
    r"(你|您)(能|会|可以)(干|做|干嘛|做什么|干什么|干啥|做啥|什么|啥|陪我聊天|聊天|记住我说的话|说中文)",
    r"(你|您)(有|有没有)(什么|啥)?(功能|用|感情|名字)",
    r"(你|您)(用的|是用的)?(什么|啥|哪个)模型",
    r"(你|您)(的)?(答案|回答|数据)(都)?(是)?(从)?(哪|哪里|哪儿)(来的|来)",
    r"(你|您)收费|(你|您)(是)?免费的",
    r"介绍(一下)?(你|您)自己", r"自我介绍(一下)?",
    r"(这个|这)?(怎么|咋|如何)用", r"(该|要)?(怎么|如何)问(你)?(问题)?", r"使用说明", r"说明",
    r"帮助", r"help", r"start", r"你好机器人", r"机器人", r"小助手", r"bot",
    r"can you speak chinese", r"who are you", r"what are you", r"are you (a )?(bot|robot|human|ai)",
    r"what can you do",
)

#: Characters that carry no content in a chat message (sentence particles, interjections).
PARTICLES = "啊呀啦哈呢吧嘛哦喔噢滴嘞咯欸诶耶哇呗么嗯唉哎囉啰"
#: Address words and fillers that may accompany small talk (你好呀各位, 谢谢大佬).
ADDRESS: tuple[str, ...] = (
    "各位", "大家", "你", "您", "你们", "大佬", "老铁", "兄弟", "朋友", "亲", "bro", "哥们", "老哥", "小助手",
    "机器人", "bot", "哈", "呀", "啦", "了", "都",
)

#: Leading politeness before a real question (你好，请问…).
_LEAD_WORDS = (
    "你好", "您好", "大家好", "hi", "hello", "hey", "哈喽", "嗨", "在吗", "在么", "打扰了", "打扰一下",
    "冒昧打扰一下", "冒昧问一下", "请问一下", "请问", "想问一下", "想问下", "问一下", "问下", "麻烦问一下",
    "麻烦问下", "麻烦", "求问", "小助手", "机器人", "早上好", "晚上好", "各位", "老铁们", "大佬们",
)
#: Trailing thanks after a real question (…谢谢).
_TAIL_WORDS = (
    "谢谢", "谢谢你", "谢谢您", "谢谢啦", "谢啦", "多谢", "先谢了", "先谢谢了", "提前谢谢", "感谢",
    "非常感谢", "谢谢大家", "thanks", "thank you", "thx", "麻烦了", "麻烦你了", "拜托了", "求解答",
    "在线等", "急",
)


def _alt(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _is_emoji_or_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "SPZC" or cat in ("Mn", "Me", "Lm") or ch in "\u200d\ufe0f"


_STICKER_RE = re.compile(r"\[[^\[\]\s]{1,6}\]")
_KAOMOJI_CHARS = set("╯°□︵┻━•̀ώ✧ﾉヽ´∀｀ДTт_^ಠ益")


class SmallTalk:
    """Detects small talk and strips politeness; ``normalize`` must fold Traditional to Simplified,
    casefold and turn punctuation into spaces (as :meth:`bot.search.analysis.Normalizer.normalize` does)."""

    def __init__(self, normalize: Callable[[str], str]) -> None:
        self._norm = normalize
        kinds: dict[str, str] = {}
        for kind, words in LEXICON.items():
            for w in words:
                kinds.setdefault(w, kind)
                kinds.setdefault(normalize(w) or w, kind)  # the normaliser's phrase folding (么么哒 -> 幺幺哒)
        self._kinds = kinds
        piece = rf"(?:{_alt(list(kinds))})"
        self._piece_re = re.compile(piece)
        address = [*ADDRESS, *(normalize(w) for w in ADDRESS)]
        filler = rf"(?:{_alt([w for w in address if w])}|[{PARTICLES}吗]|h+|2333+|6+|\s)"
        self._filler_re = re.compile(filler)
        self._all_re = re.compile(rf"(?:{piece}|{filler})+")
        self._bot_re = re.compile(rf"(?:{filler})*(?:{'|'.join(ABOUT_BOT)})(?:{filler}|[吗么呢])*")
        lead = [*_LEAD_WORDS, *(normalize(w) for w in _LEAD_WORDS)]
        tail = [*_TAIL_WORDS, *(normalize(w) for w in _TAIL_WORDS)]
        self._lead_re = re.compile(rf"^(?:(?:{_alt([w for w in lead if w])})[{PARTICLES}]*\s*)+")
        self._tail_re = re.compile(rf"(?:\s*(?:{_alt([w for w in tail if w])})[{PARTICLES}了你\s]*)+$")

    def kind(self, text: str) -> str | None:
        """The small-talk kind of ``text`` ("greeting", "thanks", "laughter", "bye", "about_bot",
        "complaint", "praise", "emoji", "other"), or None when it carries a real question."""
        if not isinstance(text, str):
            return None
        raw = _STICKER_RE.sub(" ", text).strip()
        had_sticker = raw != text.strip()
        if not raw:
            return "emoji" if had_sticker else None
        if all(_is_emoji_or_symbol(ch) or ch in _KAOMOJI_CHARS for ch in raw):
            return "emoji" if any(unicodedata.category(ch) == "So" for ch in raw) or had_sticker else "other"
        if raw.lstrip("/").lower() in ("start", "help") and raw.startswith("/"):
            return "about_bot"
        s = self._norm(raw)
        if not s:
            return "emoji"
        if len(s) > 40:
            return None
        if self._all_re.fullmatch(s):
            for m in self._piece_re.finditer(s):
                return self._kinds[m.group()]
            return "laughter" if re.search(r"h{2,}|哈|2333", s) else "other"
        if self._bot_re.fullmatch(s):
            return "about_bot"
        # a small-talk phrase followed by a question about the bot (你好，你是谁)
        m = self._all_re.match(s)
        if m and m.end() < len(s) and self._bot_re.fullmatch(s[m.end():]):
            return "about_bot"
        return None

    def strip_politeness(self, text: str) -> str:
        """``text`` without a leading greeting/politeness and trailing thanks (normalised), when a real
        question remains; otherwise ``text`` unchanged."""
        if not isinstance(text, str):
            return ""
        s = self._norm(text)
        if not s:
            return text
        core = self._lead_re.sub("", s)
        core = self._tail_re.sub("", core).strip()
        if core == s or not core or self._all_re.fullmatch(core):
            return text
        return core

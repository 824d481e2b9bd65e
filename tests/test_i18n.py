"""UI strings: complete in every locale, consistent placeholders, locale choice."""

from __future__ import annotations

import re
import string
from dataclasses import fields

import opencc
import pytest

from bot.config import LOCALES
from bot.i18n import DEFAULT_LOCALE, Strings, is_supported, pick_locale, strings

_CJK = re.compile(r"[\u3400-\u9fff]")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_key_is_present_and_non_empty_in_every_locale() -> None:
    for locale in LOCALES:
        table = strings(locale)
        for f in fields(Strings):
            value = getattr(table, f.name)
            assert isinstance(value, str) and value.strip(), (locale, f.name)


def test_placeholders_are_the_same_in_every_locale() -> None:
    for f in fields(Strings):
        expected = _placeholders(getattr(strings(DEFAULT_LOCALE), f.name))
        for locale in LOCALES:
            assert _placeholders(getattr(strings(locale), f.name)) == expected, (locale, f.name)


def test_strings_are_plain_text_not_markup() -> None:
    # The renderer escapes every string; markup here would show up literally.
    for locale in LOCALES:
        for f in fields(Strings):
            assert not re.search(r"<[a-z/]|&[a-z#]+;", getattr(strings(locale), f.name)), (locale, f.name)


def test_traditional_strings_contain_no_simplified_characters() -> None:
    to_traditional = opencc.OpenCC("s2t")
    for f in fields(Strings):
        value = getattr(strings("zh-Hant"), f.name)
        assert to_traditional.convert(value) == value, f.name


def test_chinese_locales_are_translated_and_english_is_not_chinese() -> None:
    for f in fields(Strings):
        hans, hant, en = (getattr(strings(loc), f.name) for loc in ("zh-Hans", "zh-Hant", "en"))
        if f.name != "help":  # the English help quotes a Chinese example question
            assert not _CJK.search(en), f.name
        if _CJK.search(hans) and len(_CJK.findall(hans)) > 4:
            assert hans != hant, f.name


def test_stale_alert_fits_callback_answer_limit() -> None:
    for locale in LOCALES:
        assert len(strings(locale).stale) <= 200


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("zh-cn", "zh-Hans"),
        ("zh_CN", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("zh-Hans-CN", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh-TW", "zh-Hant"),
        ("zh-hk", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-hant", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("en", "en"),
        ("en-US", "en"),
        ("en-gb", "en"),
        ("ru", "zh-Hant"),
        ("pt-br", "zh-Hant"),
        ("", "zh-Hant"),
        (None, "zh-Hant"),
    ],
)
def test_pick_locale_maps_telegram_language_codes(code: str | None, expected: str) -> None:
    assert pick_locale(code, "zh-Hant") == expected


def test_pick_locale_default_is_simplified_chinese() -> None:
    assert pick_locale("fr") == "zh-Hans"


def test_unknown_locale_is_rejected() -> None:
    assert not is_supported("de")
    with pytest.raises(KeyError):
        strings("de")

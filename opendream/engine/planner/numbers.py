"""Number words and numerals, per language, and turning a matched token into an int.

Shared by `count` (how many images a prompt states) and `prompts` (enumeration markers).
Tables hold 1..15 (the most a series can produce) plus a few collective words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# English cardinals; "single" counts as one ("a single image"), the article "a/an" never does.
ENGLISH: Mapping[str, int] = {
    "one": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "dozen": 12,
    "half a dozen": 6,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
}

# German; "ein/eine" are left out because they double as the indefinite article.
GERMAN: Mapping[str, int] = {
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "fuenf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
    "elf": 11,
    "zwölf": 12,
    "zwoelf": 12,
    "dreizehn": 13,
    "vierzehn": 14,
    "fünfzehn": 15,
    "fuenfzehn": 15,
}

# French; "un/une" left out (article).
FRENCH: Mapping[str, int] = {
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
}

# Spanish; "un/una/uno" left out (article).
SPANISH: Mapping[str, int] = {
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
}

# Portuguese; "um/uma" left out (article).
PORTUGUESE: Mapping[str, int] = {
    "dois": 2,
    "duas": 2,
    "três": 3,
    "tres": 3,
    "quatro": 4,
    "cinco": 5,
    "seis": 6,
    "sete": 7,
    "oito": 8,
    "nove": 9,
    "dez": 10,
    "onze": 11,
    "doze": 12,
    "treze": 13,
    "catorze": 14,
    "quatorze": 14,
    "quinze": 15,
}

# Italian; "un/una/uno" left out (article).
ITALIAN: Mapping[str, int] = {
    "due": 2,
    "tre": 3,
    "quattro": 4,
    "cinque": 5,
    "sei": 6,
    "sette": 7,
    "otto": 8,
    "nove": 9,
    "dieci": 10,
    "undici": 11,
    "dodici": 12,
    "tredici": 13,
    "quattordici": 14,
    "quindici": 15,
}

# Russian (nominative and genitive forms that precede a plural noun).
RUSSIAN: Mapping[str, int] = {
    "два": 2,
    "две": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "девять": 9,
    "десять": 10,
    "одиннадцать": 11,
    "двенадцать": 12,
    "тринадцать": 13,
    "четырнадцать": 14,
    "пятнадцать": 15,
}

# Korean native numerals in their attributive (before-counter) forms, plus the standalone ones.
KOREAN: Mapping[str, int] = {
    "한": 1,
    "하나": 1,
    "두": 2,
    "둘": 2,
    "세": 3,
    "셋": 3,
    "네": 4,
    "넷": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "아홉": 9,
    "열": 10,
    "열한": 11,
    "열하나": 11,
    "열두": 12,
    "열둘": 12,
    "열세": 13,
    "열셋": 13,
    "열네": 14,
    "열넷": 14,
    "열다섯": 15,
}

# Korean ordinals before 번째 ("첫 번째" = first); 한 is not used there.
KOREAN_ORDINAL: Mapping[str, int] = {**KOREAN, "첫": 1}

# Japanese native counting (…つ) used with の + noun: "三つの画像", "みっつの画像".
JAPANESE_TSU: Mapping[str, int] = {
    "ひとつ": 1,
    "ふたつ": 2,
    "みっつ": 3,
    "よっつ": 4,
    "いつつ": 5,
    "むっつ": 6,
    "ななつ": 7,
    "やっつ": 8,
    "ここのつ": 9,
    "とお": 10,
}

# Chinese / Japanese numeral characters (两/兩 is the Chinese "two" before a counter).
_CJK_DIGITS: Mapping[str, int] = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CJK_NUMERAL = r"[〇零一二两兩三四五六七八九十]{1,3}"
# Decimal digits of any script (ASCII, full-width …), never part of a longer number.
DIGITS = r"(?<!\d)\d{1,6}(?!\d)"
# Circled numbers ① .. ⑳, used as list markers.
CIRCLED = "[\u2460-\u2473]"


def alternation(words: Iterable[str]) -> str:
    """A regex alternation that tries longer words first ("fifteen" before "five")."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def cjk_int(text: str) -> int | None:
    """二 -> 2, 十五 -> 15, 二十 -> 20, 十 -> 10; None for anything that is not a plain numeral."""
    if "十" not in text:
        return _CJK_DIGITS.get(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    tens_value = _CJK_DIGITS.get(tens) if tens else 1
    ones_value = _CJK_DIGITS.get(ones) if ones else 0
    if tens_value is None or ones_value is None:
        return None
    return tens_value * 10 + ones_value


def to_int(token: str, table: Mapping[str, int] | None = None) -> int | None:
    """A matched number token as an int: digits of any script, circled numbers, CJK numerals,
    or a word from `table` (case-insensitive, inner whitespace collapsed)."""
    token = token.strip()
    if not token:
        return None
    if token.isdecimal():
        return int(token)
    if len(token) == 1 and "\u2460" <= token <= "\u2473":
        return ord(token) - 0x2460 + 1
    if table is not None:
        value = table.get(" ".join(token.lower().split()))
        if value is not None:
            return value
    return cjk_int(token)


def words(text: str) -> list[str]:
    """A whitespace-separated word list: long vocabularies stay readable as prose."""
    return text.split()

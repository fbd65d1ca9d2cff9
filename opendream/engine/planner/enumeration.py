"""Finding an enumeration of per-image prompts in a prompt.

Styles, tried in this order (the first that yields at least two items wins):
- labeled: "Image 1: … Image 2: …", "图1：… 图2：…", "第一张…第二张…", "1枚目：…", "첫 번째 …";
- numbered: "1) … 2) …", "1. … 2. …", "(1) … (2) …", "1、… 2、…", "① … ② …";
- bullets: lines starting with "-", "*", "•";
- lines: a first line ending with ":" followed by one item per line;
- sequence: "first … then … finally …" and its equivalents in other languages.
Numbered markers must run 1, 2, 3, … in order, which keeps "16:9" or "version 2." from
splitting a prompt. The text before the first item is the preamble (shared context).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from opendream.engine.planner import numbers as num


@dataclass(frozen=True)
class Enumeration:
    style: str  # "labeled" | "numbered" | "bullets" | "lines" | "sequence"
    preamble: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Marker:
    start: int
    end: int
    number: int


# Latin-script image nouns used as labels, any language ("Image 1:", "Bild 2:", "Imagen 3:").
_LATIN_LABELS = num.alternation(
    num.words(
        "image picture photo panel frame shot scene slide page illustration variation version "
        "bild foto szene imagen imagem immagine escena cena scena vignette viñeta painel pannello "
        "изображение картинка кадр сцена"
    )
)
# CJK and Hangul labels ("画像1：", "이미지 2:").
_CJK_LABELS = "画像|写真|イラスト|シーン|コマ|이미지|사진|그림|장면|컷"
_LABEL_END = r"\s*(?:[:：.．)）\]】\-–—]|\s-)"
_ZH_COUNTERS = "张|張|幅|格|个|個|帧|幕|部分|步|组"

# Each labeled pattern has group `n` (the number).
_LABELED: tuple[re.Pattern[str], ...] = (
    # "Image 1: …", "Panel #2 - …", "Bild 3: …".
    re.compile(
        rf"\b(?:{_LATIN_LABELS})\s*#?\s*(?P<n>{num.DIGITS}){_LABEL_END}",
        re.IGNORECASE,
    ),
    # "画像1：…", "이미지 2: …".
    re.compile(rf"(?:{_CJK_LABELS})\s*(?P<n>{num.DIGITS}){_LABEL_END}"),
    # Chinese "图1：…", "图片二：…".
    re.compile(rf"[图圖](?:片)?\s*(?P<n>{num.DIGITS}|{num.CJK_NUMERAL})\s*[:：,，、.．]"),
    # Chinese "第一张…", "第2幅：…", "第三，…".
    re.compile(
        rf"第\s*(?P<n>{num.DIGITS}|{num.CJK_NUMERAL})\s*(?:{_ZH_COUNTERS})?\s*[:：,，、.．]?"
    ),
    # Japanese "1枚目：…", "二枚目は…", "3コマ目：…".
    re.compile(
        rf"(?P<n>{num.DIGITS}|{num.CJK_NUMERAL})\s*(?:枚目|コマ目|番目)\s*"
        r"(?:[:：,，、]|には|では|は|に|で)?"
    ),
    # Korean "첫 번째 이미지: …", "2번째 사진은 …".
    re.compile(
        rf"(?<![가-힣])(?P<n>{num.DIGITS}|{num.alternation(num.KOREAN_ORDINAL)})\s*번째\s*"
        rf"(?:{_CJK_LABELS}|장)?\s*(?:[:：,，]|에는|에서는|는|은)?"
    ),
)

# "1) …", "1. …", "1: …", "1、…", "(1) …", "① …": a number at a clause start.
_NUMBERED = re.compile(
    r"(?<![^\s:：;；,，。.!?])"
    rf"(?:[(（](?P<p>{num.DIGITS})[)）]|(?P<n>{num.DIGITS})\s?[.)）、:：](?![\d.])|(?P<c>{num.CIRCLED}))"
    r"\s*"
)

_BULLET_LINE = re.compile(r"^[ \t]*[-*•·●▪‣◦–—][ \t]+(?P<item>\S.*)$", re.MULTILINE)


@dataclass(frozen=True)
class _Sequence:
    """Sequence words of one language: opening words, then continuation words."""

    first: str
    later: str
    # Latin scripts need the opening word at a clause start ("the first light" is not one).
    clause_start: bool = True


_SEQUENCES: tuple[_Sequence, ...] = (
    # English
    _Sequence(
        r"first of all|firstly|first|to begin with|to begin|at first",
        r"and then|then|after that|afterwards|next(?!\s+to\b)|secondly|thirdly|"
        r"and finally|finally|lastly|in the end",
    ),
    # German
    _Sequence(
        r"zuerst|zunächst|erstens|als erstes",
        r"und dann|dann|danach|anschließend|daraufhin|zweitens|drittens|"
        r"und schließlich|schließlich|zuletzt|am ende|zum schluss",
    ),
    # French
    _Sequence(
        r"tout d'abord|d'abord|premièrement|au début",
        r"et puis|puis|ensuite|après cela|deuxièmement|et enfin|enfin|finalement|pour finir",
    ),
    # Spanish
    _Sequence(
        r"primero|primeramente|al principio",
        r"y luego|luego|después|despues|a continuación|y finalmente|finalmente|por último|"
        r"al final",
    ),
    # Portuguese
    _Sequence(
        r"primeiro|primeiramente|no início",
        r"e depois|depois|em seguida|e finalmente|finalmente|por fim|no final",
    ),
    # Italian
    _Sequence(
        r"innanzitutto|prima di tutto|all'inizio|prima,",
        r"e poi|poi|quindi|successivamente|e infine|infine|alla fine",
    ),
    # Chinese
    _Sequence(r"首先|一开始|起初", r"然后|接着|随后|之后|最后|最终", clause_start=False),
    # Japanese
    _Sequence(r"まず|最初に|はじめに", r"次に|それから|その後|続いて|最後に", clause_start=False),
    # Korean
    _Sequence(
        r"먼저|처음에|우선",
        r"그다음|그 다음|다음으로|그리고 나서|그 후|마지막으로",
        clause_start=False,
    ),
)

_ITEM_TRIM = " \t\r\n,;，；、:：.。"
_TRAILING_CONJUNCTION = re.compile(r"[\s,;，；、]+(?:and|und|et|y|e|и)$", re.IGNORECASE)


def find_enumeration(prompt: str) -> Enumeration | None:
    """The per-image items of `prompt`, or None when it does not enumerate (fewer than 2)."""
    finders: tuple[Callable[[str], Enumeration | None], ...] = (
        _labeled,
        _numbered,
        _bullets,
        _lines,
        _sequence,
    )
    for finder in finders:
        found = finder(prompt)
        if found is not None:
            return found
    return None


def _labeled(prompt: str) -> Enumeration | None:
    markers = sorted(
        (m for pattern in _LABELED for m in _markers(pattern, prompt)),
        key=lambda m: (m.start, -m.end),
    )
    return _from_markers("labeled", prompt, markers)


def _numbered(prompt: str) -> Enumeration | None:
    return _from_markers("numbered", prompt, list(_markers(_NUMBERED, prompt)))


def _markers(pattern: re.Pattern[str], prompt: str) -> Iterator[_Marker]:
    for match in pattern.finditer(prompt):
        token = next((g for g in match.groups() if g), None)
        value = num.to_int(token, num.KOREAN_ORDINAL) if token else None
        if value is not None:
            yield _Marker(match.start(), match.end(), value)


def _from_markers(style: str, prompt: str, markers: list[_Marker]) -> Enumeration | None:
    """Items between markers numbered 1, 2, 3, …; other markers stay inside the items."""
    run: list[_Marker] = []
    for marker in markers:
        if run and marker.start < run[-1].end:
            continue  # overlaps the previous marker (two patterns on the same label)
        if marker.number == len(run) + 1:
            run.append(marker)
    if len(run) < 2:
        return None
    bounds = [m.start for m in run[1:]] + [len(prompt)]
    items = tuple(_clean(prompt[m.end : end]) for m, end in zip(run, bounds, strict=True))
    return _enumeration(style, prompt[: run[0].start], items)


def _bullets(prompt: str) -> Enumeration | None:
    matches = list(_BULLET_LINE.finditer(prompt))
    if len(matches) < 2:
        return None
    context = _BULLET_LINE.sub("", prompt)
    return _enumeration("bullets", context, tuple(_clean(m.group("item")) for m in matches))


def _lines(prompt: str) -> Enumeration | None:
    lines = [line.strip() for line in prompt.splitlines() if line.strip()]
    if len(lines) < 3 or not lines[0].endswith((":", "：")):
        return None
    return _enumeration("lines", lines[0], tuple(_clean(line) for line in lines[1:]))


def _sequence(prompt: str) -> Enumeration | None:
    for sequence in _SEQUENCES:
        found = _sequence_of(sequence, prompt)
        if found is not None:
            return found
    return None


def _sequence_of(sequence: _Sequence, prompt: str) -> Enumeration | None:
    start = r"(?:^|(?<=[.;:!?\n。！？]))\s*" if sequence.clause_start else ""
    boundary = r"\b" if sequence.clause_start else ""
    first = re.search(rf"{start}(?:{sequence.first}){boundary}[\s,:：，、]*", prompt, re.I)
    if first is None:
        return None
    later = re.compile(rf"{boundary}(?:{sequence.later}){boundary}[\s,:：，、]*", re.I)
    cuts = [(first.start(), first.end())]
    cuts += [(m.start(), m.end()) for m in later.finditer(prompt, first.end())]
    if len(cuts) < 2:
        return None
    bounds = [s for s, _ in cuts[1:]] + [len(prompt)]
    items = tuple(_clean(prompt[e:end]) for (_, e), end in zip(cuts, bounds, strict=True))
    return _enumeration("sequence", prompt[: first.start()], items)


def _enumeration(style: str, preamble: str, items: tuple[str, ...]) -> Enumeration | None:
    kept = tuple(item for item in items if item)
    if len(kept) < 2:
        return None
    return Enumeration(style, preamble.strip(), kept)


def _clean(item: str) -> str:
    item = " ".join(item.split()).strip(_ITEM_TRIM)
    return _TRAILING_CONJUNCTION.sub("", item).strip(_ITEM_TRIM)

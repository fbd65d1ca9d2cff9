"""The number of images a prompt states ("Generate 3 images", "drei Bilder", "4 张", "세 장").

Precision over recall: a number counts only when it is attached to an image noun ("3 images",
"three different photos") or a counter word (张, 枚, 장), or in a few fixed phrases ("a set of
four", "a pair of images", "a triptych"). "3 cats", "1920s", "a 4K image", "2 people", "16:9"
state no count. When several counts appear the earliest wins: the instruction usually comes
first, descriptions of what is in the images later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from opendream.engine.planner import numbers as num

_FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class _Rule:
    """One way of stating a count; group `n` holds the number."""

    language: str
    pattern: re.Pattern[str]
    words: Mapping[str, int] | None = None
    # For fixed phrases whose number is the phrase itself ("a pair of", "triptych").
    fixed: Mapping[str, int] | None = None


# Short words that end a noun phrase: "3 cats in 2 images" must not read as "3 ... images".
_STOP = num.alternation(
    num.words(
        "of in on at with and or for from to by the a an as into per each like "
        "de des du en dans avec et ou pour von mit und oder für im am zu con y para di e "
        "per com em do da no na"
    )
)
# Up to three words between the number and the noun ("3 different cinematic images").
_GAP = rf"(?:[\s-]{{1,4}}(?!(?:{_STOP})\b)[^\W\d_]{{1,30}}){{0,3}}[\s-]{{1,4}}"
# A number token must not continue an aspect ratio, decimal or range ("16:9 image", "1.5").
_NUMBER_EDGE_BEFORE = r"(?<![\w.,:/×*#-])"
_NUMBER_EDGE_AFTER = r"(?![.,:/×]\d)"


def _counted(language: str, words: Mapping[str, int], nouns: list[str]) -> _Rule:
    """`<number> [up to 3 words] <noun>`, the number being digits or a word of `words`."""
    number = f"{num.DIGITS}|{num.alternation(words)}"
    pattern = (
        rf"{_NUMBER_EDGE_BEFORE}(?P<n>{number}){_NUMBER_EDGE_AFTER}{_GAP}"
        rf"(?:{num.alternation(nouns)})\b"
    )
    return _Rule(language, re.compile(pattern, _FLAGS), words)


# English nouns that name an image of the series. Singular only where "one …" means one whole
# image ("one image"); "in one scene" or "one view" says nothing about the count.
_EN_IMAGE_NOUNS = num.words(
    "image images picture pictures pic pics photo photos photograph photographs "
    "illustration illustrations render renders rendering renderings drawing drawings "
    "artwork artworks wallpaper wallpapers shots panels frames scenes variations variants "
    "versions stills slides outputs results designs options concepts mockups thumbnails "
    "sketches views angles takes"
)
# Singular nouns in a hyphenated compound: "a 4-panel comic", "a six-frame storyboard".
_EN_COMPOUND_NOUNS = num.words("panel frame shot scene slide page view angle part image photo")
# Nouns that may also be things inside one image ("a wall with 3 posters"): they count only
# right after a request verb ("create 3 posters").
_EN_WEAK_NOUNS = num.words("poster posters painting paintings portrait portraits pages cards")
_EN_VERBS = (
    "generate|create|make|draw|render|produce|design|paint|give me|show me|i want|i need|"
    "i'd like|we need|output|imagine|illustrate"
)

_GERMAN_NOUNS = num.words(
    "bild bilder fotos foto aufnahmen aufnahme varianten variante versionen szenen szene "
    "illustrationen motive panels grafiken zeichnungen entwürfe ansichten"
)
_FRENCH_NOUNS = num.words(
    "images image photos photo illustrations dessins vues scènes scenes variantes variations "
    "versions planches cases visuels affiches rendus"
)
_SPANISH_NOUNS = num.words(
    "imágenes imagenes imagen fotos fotografías fotografias ilustraciones escenas variaciones "
    "versiones viñetas vinetas dibujos cuadros retratos diseños disenos"
)
_PORTUGUESE_NOUNS = num.words(
    "imagens imagem fotos fotografias ilustrações ilustracoes cenas variações variacoes versões "
    "versoes quadros desenhos painéis paineis"
)
_ITALIAN_NOUNS = num.words(
    "immagini immagine foto fotografie illustrazioni scene variazioni versioni vignette disegni "
    "tavole"
)
_RUSSIAN_NOUNS = num.words(
    "изображения изображений картинки картинок фото фотографии фотографий кадра кадров "
    "иллюстрации иллюстраций сцены сцен варианта вариантов"
)

# Chinese: number + 张/幅/帧/格 (sheet-like counters), unless it counts furniture or faces;
# 个/款/种/版 only with an image noun after it ("三个画面", not "三个人").
_ZH_NOT_AFTER = r"(?<![第每这那哪這\d〇零一二两兩三四五六七八九十])"
_ZH_NOUNS = "图|图片|图像|圖|圖片|画面|畫面|插图|照片|场景|場景|镜头|鏡頭|版本|变体|海报|画|效果图"
_ZH_SHEET = (
    rf"{_ZH_NOT_AFTER}(?P<n>{num.DIGITS}|{num.CJK_NUMERAL})\s*(?:张|張|幅|帧|格)"
    r"(?!桌|床|脸|臉|嘴|椅|纸|紙|网|網|弓|票|卡|沙发|饼|皮)"
)
_ZH_GENERIC = (
    rf"{_ZH_NOT_AFTER}(?P<n>{num.DIGITS}|{num.CJK_NUMERAL})\s*(?:个|個|款|种|種|版)\s*"
    rf"(?:不同的?\s*)?(?:{_ZH_NOUNS})"
)
# Japanese: number + 枚/コマ/カット (not 枚目, an ordinal; not plates or tickets), or
# "三つの画像", or "画像を3つ/3点".
_JA_NOT_AFTER = r"(?<![第毎各\d〇零一二三四五六七八九十])"
_JA_NOUNS = "画像|イラスト|写真|シーン|場面|絵|バリエーション|カット|ビジュアル"
_JA_SHEET = (
    rf"{_JA_NOT_AFTER}(?P<n>{num.DIGITS}|{num.CJK_NUMERAL})\s*(?:枚|コマ|カット)"
    r"(?!目)(?!の(?:皿|紙|葉|板|シャツ|切符|チケット|カード|布))"
)
_JA_TSU_WORDS = {**num.JAPANESE_TSU, **{f"{k}つ": v for k, v in num.JAPANESE_TSU.items()}}
_JA_TSU = (
    rf"{_JA_NOT_AFTER}(?P<n>(?:{num.DIGITS}|{num.CJK_NUMERAL})つ|{num.alternation(num.JAPANESE_TSU)})"
    rf"\s*の\s*(?:{_JA_NOUNS})"
)
_JA_NOUN_FIRST = (
    rf"(?:{_JA_NOUNS})\s*を?\s*(?P<n>{num.DIGITS}|{num.CJK_NUMERAL})\s*(?:つ|個|点|枚)(?!目)"
)
# Korean: number + 장/컷 (sheet, cut) followed by a particle or nothing (not 장미 "rose"), or
# "3개의 이미지", or "이미지 3개".
_KO_NUMBER = rf"{num.DIGITS}|{num.alternation(num.KOREAN)}"
_KO_NOUNS = "이미지|사진|그림|장면|일러스트|컷"
# Particles that may follow a Korean counter ("세 장을", "두 개를").
_KO_PARTICLE = r"(?:의|을|를|만|씩|짜리|으로|로|이|은|도)?(?![가-힣])"
_KO_SHEET = rf"(?<![가-힣\d])(?P<n>{_KO_NUMBER})\s*(?:장|컷)(?:면|{_KO_PARTICLE})"
_KO_GENERIC = rf"(?<![가-힣\d])(?P<n>{_KO_NUMBER})\s*개의\s*(?:{_KO_NOUNS})"
_KO_NOUN_FIRST = (
    rf"(?:{_KO_NOUNS})(?:을|를)?\s*(?<![\d])(?P<n>{_KO_NUMBER})\s*(?:개|장){_KO_PARTICLE}"
)

_EN_NUMBER = rf"{num.DIGITS}|{num.alternation(num.ENGLISH)}"

# Every rule, in no particular order: the earliest match in the text wins.
_RULES: tuple[_Rule, ...] = (
    # English "Generate 3 images", "three different photos", "a 4-panel comic".
    _counted("en", num.ENGLISH, _EN_IMAGE_NOUNS),
    # English hyphenated compounds: "a 4-panel comic", "six-frame storyboard".
    _Rule(
        "en",
        re.compile(
            rf"{_NUMBER_EDGE_BEFORE}(?P<n>{_EN_NUMBER})-(?:{num.alternation(_EN_COMPOUND_NOUNS)})\b",
            _FLAGS,
        ),
        num.ENGLISH,
    ),
    # English weak nouns only right after a request verb: "create 3 posters".
    _Rule(
        "en",
        re.compile(
            rf"\b(?:{_EN_VERBS})\s+(?:me\s+|us\s+)?(?P<n>{_EN_NUMBER}){_NUMBER_EDGE_AFTER}{_GAP}"
            rf"(?:{num.alternation(_EN_WEAK_NOUNS)})\b",
            _FLAGS,
        ),
        num.ENGLISH,
    ),
    # English collective: "a set of four", "a series of 5 …", "a storyboard of six".
    _Rule(
        "en",
        re.compile(
            r"\b(?:set|series|sequence|collection|batch|storyboard|gallery|carousel|pack|suite)"
            rf"\s+of\s+(?P<n>{_EN_NUMBER}){_NUMBER_EDGE_AFTER}\b",
            _FLAGS,
        ),
        num.ENGLISH,
    ),
    # English "a pair of images", "a couple of photos", "a trio of portraits".
    _Rule(
        "en",
        re.compile(
            rf"\b(?P<n>pair|couple|duo|trio|quartet)(?:\s+of)?{_GAP}"
            rf"(?:{num.alternation(_EN_IMAGE_NOUNS + _EN_WEAK_NOUNS)})\b",
            _FLAGS,
        ),
        fixed={"pair": 2, "couple": 2, "duo": 2, "trio": 3, "quartet": 4},
    ),
    # English multi-panel artworks: "a triptych of …".
    _Rule(
        "en",
        re.compile(r"\b(?P<n>diptych|triptych|tetraptych|quadriptych|pentaptych)\b", _FLAGS),
        fixed={"diptych": 2, "triptych": 3, "tetraptych": 4, "quadriptych": 4, "pentaptych": 5},
    ),
    # English "number of images: 4".
    _Rule(
        "en",
        re.compile(
            r"\b(?:number|count|amount)\s+of\s+(?:images|pictures|photos|outputs)\s*"
            rf"(?:is|:|=|should be|will be)?\s*(?P<n>{_EN_NUMBER}){_NUMBER_EDGE_AFTER}\b",
            _FLAGS,
        ),
        num.ENGLISH,
    ),
    # German "drei Bilder", "4 verschiedene Fotos".
    _counted("de", num.GERMAN, _GERMAN_NOUNS),
    # French "trois images", "5 photos".
    _counted("fr", num.FRENCH, _FRENCH_NOUNS),
    # Spanish "cinco imágenes".
    _counted("es", num.SPANISH, _SPANISH_NOUNS),
    # Portuguese "três imagens", "duas fotos".
    _counted("pt", num.PORTUGUESE, _PORTUGUESE_NOUNS),
    # Italian "quattro immagini".
    _counted("it", num.ITALIAN, _ITALIAN_NOUNS),
    # Russian "три изображения", "5 картинок".
    _counted("ru", num.RUSSIAN, _RUSSIAN_NOUNS),
    # Chinese "4 张", "三幅", "十五张".
    _Rule("zh", re.compile(_ZH_SHEET)),
    # Chinese "三个画面", "两款海报".
    _Rule("zh", re.compile(_ZH_GENERIC)),
    # Japanese "3枚", "五枚の絵", "4コマ".
    _Rule("ja", re.compile(_JA_SHEET)),
    # Japanese "三つの画像", "みっつのイラスト".
    _Rule("ja", re.compile(_JA_TSU), _JA_TSU_WORDS),
    # Japanese "画像を3つ", "イラスト5点".
    _Rule("ja", re.compile(_JA_NOUN_FIRST)),
    # Korean "세 장", "5장", "네 컷".
    _Rule("ko", re.compile(_KO_SHEET), num.KOREAN),
    # Korean "3개의 이미지".
    _Rule("ko", re.compile(_KO_GENERIC), num.KOREAN),
    # Korean "이미지 3개", "사진을 두 장".
    _Rule("ko", re.compile(_KO_NOUN_FIRST), num.KOREAN),
)


@dataclass(frozen=True)
class StatedCount:
    value: int
    language: str
    text: str  # the matched words, for the metadata's "why"


def find_stated_count(prompt: str) -> StatedCount | None:
    """The earliest image count stated in `prompt`, or None. Zero is not a count."""
    best: tuple[int, StatedCount] | None = None
    for rule in _RULES:
        for match in rule.pattern.finditer(prompt):
            value = _value(rule, match.group("n"))
            if value is None or value < 1:
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), StatedCount(value, rule.language, match.group(0)))
            break  # later matches of the same rule start later still
    return best[1] if best else None


def stated_count(prompt: str) -> int | None:
    found = find_stated_count(prompt)
    return found.value if found else None


def _value(rule: _Rule, token: str) -> int | None:
    if rule.fixed is not None:
        return rule.fixed.get(token.lower())
    if token.endswith("つ") and len(token) > 1:
        stripped = num.to_int(token[:-1])
        if stripped is not None:
            return stripped
    return num.to_int(token, rule.words)

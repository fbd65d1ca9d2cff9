"""The count stated in a prompt, table-driven over many languages and forms."""

from __future__ import annotations

import pytest

from opendream.engine.planner.count import find_stated_count, stated_count
from opendream.engine.planner.plan import make_plan
from opendream.engine.types import GenerationRequest

from .conftest import make_caps

# (language, prompt, stated count or None)
STATED: list[tuple[str, str, int | None]] = [
    # English: digits, words, phrases
    ("en", "Generate 3 images of a beautiful sunset over a calm ocean.", 3),
    ("en", "Create five pictures of a lighthouse in a storm", 5),
    ("en", "Make 12 photos of the same cat in different rooms", 12),
    ("en", "three different cinematic photos of a samurai", 3),
    ("en", "A set of four portraits of an old fisherman", 4),
    ("en", "a series of 6 storyboard frames for a heist film", 6),
    ("en", "a pair of images showing before and after", 2),
    ("en", "a couple of shots of a neon street", 2),
    ("en", "a trio of illustrations for a children's book", 3),
    ("en", "a 4-panel comic about a robot learning to cook", 4),
    ("en", "a triptych of a forest through the day", 3),
    ("en", "Give me fifteen variations of this logo concept", 15),
    ("en", "one image of a red fox", 1),
    ("en", "Generate 20 images of a castle", 20),
    ("en", "Design 3 posters for a jazz festival", 3),
    # English: numbers that are not image counts
    ("en", "3 cats sitting on a sofa", None),
    ("en", "a 1920s jazz club, warm light", None),
    ("en", "a 4K image of a mountain lake", None),
    ("en", "2 people walking in the rain", None),
    ("en", "a 16:9 image of a desert highway", None),
    ("en", "a wall with 3 posters and a plant", None),
    ("en", "a couple dancing in Paris", None),
    ("en", "3 cats in 2 images", 2),
    ("en", "0 images of nothing", None),
    ("en", "two cats and a dog together in one scene", None),
    ("en", "a six-frame storyboard of a chase", 6),
    ("en", "a single image of a lighthouse", 1),
    ("en", "3 still bottles on a table", None),
    ("en", "an image of 5 apples on 1.5 m tall table", None),
    # Chinese
    ("zh", "生成4张海边日落的图片", 4),
    ("zh", "4 张猫咪的照片", 4),
    ("zh", "画三幅水墨山水画", 3),
    ("zh", "生成十五张连续的漫画", 15),
    ("zh", "两张图片，分别是白天和夜晚", 2),
    ("zh", "三个画面讲述一个故事", 3),
    ("zh", "三个人在公园里散步", None),
    ("zh", "第三张图要更亮", None),
    # Japanese
    ("ja", "猫の写真を3枚", 3),
    ("ja", "四枚のイラストで春夏秋冬を描いて", 4),
    ("ja", "三つの画像で物語を作って", 3),
    ("ja", "画像を5つ生成してください", 5),
    ("ja", "4コマ漫画を描いて", 4),
    ("ja", "3枚目は夜の街にして", None),
    # Korean
    ("ko", "고양이 사진 세 장을 만들어 줘", 3),
    ("ko", "바다 풍경 5장", 5),
    ("ko", "다섯 장의 일러스트로 이야기를 보여줘", 5),
    ("ko", "3개의 이미지로 사계절을 표현해 줘", 3),
    ("ko", "이미지 두 개를 만들어 줘", 2),
    ("ko", "세계 지도를 그려 줘", None),
    # German
    ("de", "Erstelle drei Bilder einer Katze im Schnee", 3),
    ("de", "vier verschiedene Fotos eines Leuchtturms", 4),
    ("de", "Male 6 Szenen aus einem Märchen", 6),
    ("de", "drei Katzen auf einem Sofa", None),
    # French
    ("fr", "Génère trois images d'un chat dans la neige", 3),
    ("fr", "cinq photos d'une ville la nuit", 5),
    ("fr", "deux illustrations pour un livre", 2),
    # Spanish
    ("es", "Genera cinco imágenes de un perro en la playa", 5),
    ("es", "crea 4 fotos de una montaña", 4),
    ("es", "dos gatos en una cocina", None),
    # Portuguese
    ("pt", "Crie três imagens de um gato", 3),
    ("pt", "duas fotos de uma praia ao pôr do sol", 2),
    # Italian
    ("it", "Genera quattro immagini di una gondola a Venezia", 4),
    ("it", "sei illustrazioni per una fiaba", 6),
    # Russian
    ("ru", "Создай три изображения кота", 3),
    ("ru", "5 картинок с закатом", 5),
]


def test_table_is_big_enough() -> None:
    assert len(STATED) >= 40
    assert len({language for language, _, _ in STATED}) >= 6


@pytest.mark.parametrize(("language", "prompt", "expected"), STATED)
def test_stated_count(language: str, prompt: str, expected: int | None) -> None:
    found = find_stated_count(prompt)
    # The language is only the table's grouping: "4 fotos" reads the same in several.
    assert (found.value if found else None) == expected


@pytest.mark.parametrize(("language", "prompt", "expected"), STATED)
def test_plan_produces_stated_count_or_maximum(
    language: str, prompt: str, expected: int | None
) -> None:
    request = GenerationRequest("sequential", prompt, max_images=15, seed=1)
    plan = make_plan(request, make_caps())
    want = 15 if expected is None else min(expected, 15)
    assert len(plan.images) == want
    assert plan.metadata["count"]["stated"] == expected
    assert plan.metadata["count"]["produced"] == want


def test_earliest_count_wins() -> None:
    assert stated_count("Generate 2 images: one shows 5 photos on a table") == 2


def test_full_width_digits() -> None:
    assert stated_count("生成３张图片") == 3


@pytest.mark.parametrize("prompt", ["", "   ", "12345", "😀" * 600, "1" * 600, "image " * 100])
def test_odd_prompts_state_nothing(prompt: str) -> None:
    assert stated_count(prompt) is None

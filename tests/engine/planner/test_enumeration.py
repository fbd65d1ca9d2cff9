"""Enumerated per-image prompts in their different styles and languages."""

from __future__ import annotations

import pytest

from opendream.engine.planner.enumeration import find_enumeration

# (prompt, style, preamble, items)
ENUMERATED: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "Generate 3 images of a fox. Image 1: the fox asleep. Image 2: hunting. Image 3: at dawn.",
        "labeled",
        "Generate 3 images of a fox.",
        ("the fox asleep", "hunting", "at dawn"),
    ),
    (
        "Panel 1 - a door opens; Panel 2 - a cat walks in",
        "labeled",
        "",
        ("a door opens", "a cat walks in"),
    ),
    (
        "A comic about a robot: 1) it wakes up 2) it makes coffee 3) it goes to work",
        "numbered",
        "A comic about a robot:",
        ("it wakes up", "it makes coffee", "it goes to work"),
    ),
    (
        "Story:\n1. a seed\n2. a sprout\n3. a tree",
        "numbered",
        "Story:",
        ("a seed", "a sprout", "a tree"),
    ),
    ("(1) red car (2) blue car", "numbered", "", ("red car", "blue car")),
    ("① 春 ② 夏 ③ 秋", "numbered", "", ("春", "夏", "秋")),
    ("四季：1、春天 2、夏天", "numbered", "四季：", ("春天", "夏天")),
    (
        "Four seasons of one tree:\n- spring\n- summer\n* autumn\n• winter",
        "bullets",
        "Four seasons of one tree:",
        ("spring", "summer", "autumn", "winter"),
    ),
    ("Three moods:\nhappy\nsad\nangry", "lines", "Three moods:", ("happy", "sad", "angry")),
    (
        "A knight. First, he draws his sword, then he charges, and finally he wins.",
        "sequence",
        "A knight.",
        ("he draws his sword", "he charges", "he wins"),
    ),
    (
        "生成一组图片，图1：一只猫在睡觉；图2：猫在吃饭；图3：猫在玩耍",
        "labeled",
        "生成一组图片，",
        ("一只猫在睡觉", "猫在吃饭", "猫在玩耍"),
    ),
    ("第一张画春天，第二张画夏天，第三张画秋天", "labeled", "", ("画春天", "画夏天", "画秋天")),
    ("1枚目：朝の街、2枚目：昼の街、3枚目：夜の街", "labeled", "", ("朝の街", "昼の街", "夜の街")),
    (
        "첫 번째 이미지: 아침, 두 번째 이미지: 점심, 세 번째 이미지: 저녁",
        "labeled",
        "",
        ("아침", "점심", "저녁"),
    ),
    ("Bild 1: ein Ei. Bild 2: ein Huhn.", "labeled", "", ("ein Ei", "ein Huhn")),
    ("Imagen 1: un perro. Imagen 2: un gato.", "labeled", "", ("un perro", "un gato")),
    (
        "Zuerst ein Ei, dann ein Küken, schließlich ein Huhn.",
        "sequence",
        "",
        ("ein Ei", "ein Küken", "ein Huhn"),
    ),
    (
        "D'abord une graine, puis une pousse, enfin un arbre",
        "sequence",
        "",
        ("une graine", "une pousse", "un arbre"),
    ),
    (
        "首先画一颗种子，然后画一棵幼苗，最后画一棵大树",
        "sequence",
        "",
        ("画一颗种子", "画一棵幼苗", "画一棵大树"),
    ),
    ("まず卵、次にひよこ、最後に鶏", "sequence", "", ("卵", "ひよこ", "鶏")),
]


@pytest.mark.parametrize(("prompt", "style", "preamble", "items"), ENUMERATED)
def test_enumeration(prompt: str, style: str, preamble: str, items: tuple[str, ...]) -> None:
    found = find_enumeration(prompt)
    assert found is not None
    assert (found.style, found.preamble, found.items) == (style, preamble, items)


@pytest.mark.parametrize(
    "prompt",
    [
        "a 16:9 image of version 2. a cat",
        "the first light of dawn, then darkness",
        "a cat sitting next to a dog",
        "Image 2: a cat. Image 3: a dog.",  # does not start at 1
        "1) only one item",
        "a tall building\nwith many windows",  # two lines, no preamble with a colon
        "",
        "3:00 pm, 4:30 pm",
    ],
)
def test_not_an_enumeration(prompt: str) -> None:
    assert find_enumeration(prompt) is None


def test_numbers_out_of_sequence_stay_in_items() -> None:
    found = find_enumeration("1. a cat with 3) stripes 2. a dog")
    assert found is not None
    assert found.items == ("a cat with 3) stripes", "a dog")

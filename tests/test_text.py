"""``common.text.disallowed_character``: the one rule for titles and render tags."""

from __future__ import annotations

import pytest

from common.text import disallowed_character


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a\x00b", "U+0000"),
        ("a\rb", "U+000D"),
        ("\x7f", "U+007F"),
        ("evil\u202egnp.mp3", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066isolate", "U+2066"),
        ("zero\u200bwidth", "U+200B ZERO WIDTH SPACE"),
        ("\ufeffbom", "U+FEFF"),
        ("lone \ud800", "U+D800"),
    ],
)
def test_refused_characters_are_named(text: str, found: str) -> None:
    description = disallowed_character(text)
    assert description is not None
    assert description.startswith(found)


@pytest.mark.parametrize(
    "text",
    ["Interview", "line one\nline two\tand a tab", "café 日本語 عربي", "\U0001f468\u200d\U0001f469", "ab\u200cc"],
)
def test_ordinary_text_is_allowed(text: str) -> None:
    assert disallowed_character(text) is None

"""The one rule for text a client names things with (titles, render tags): what may not be in it.

Refused: control characters other than tab and newline (NUL included), lone surrogates, the bidirectional
embedding, override and isolate controls (they make a title display as something other than what it is), and the
invisible characters that carry no meaning of their own (zero-width space, word joiner, byte-order mark, Mongolian
vowel separator). Zero-width joiner and non-joiner stay allowed: scripts and emoji sequences need them.
"""

from __future__ import annotations

import unicodedata

_ALLOWED_CONTROLS = frozenset("\t\n")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset("\u180e\u200b\u2060\ufeff")


def disallowed_character(text: str) -> str | None:
    """A description of the first character ``text`` may not hold, e.g. ``"U+202E RIGHT-TO-LEFT OVERRIDE"``, or
    ``None`` when every character is allowed."""
    for char in text:
        category = unicodedata.category(char)
        refused = (
            (category == "Cc" and char not in _ALLOWED_CONTROLS)
            or category == "Cs"
            or char in _BIDI_CONTROLS
            or char in _INVISIBLE
        )
        if refused:
            return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"
    return None

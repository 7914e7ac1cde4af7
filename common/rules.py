"""Request fields declared once: each declaration is the field's validator, its JSON Schema and its form limits.

The edit-list operations (``common.edits``) and the render options (``common.render_options``) are tables of these
rules; the API's document, the validators and the page's form all read them, so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.errors import AppError

# Builds the error a validator raises from the offending field (as the client wrote it) and a message.
ErrorFactory = Callable[[str, str], AppError]


@dataclass(frozen=True, slots=True)
class NumberRule:
    """A JSON number: ``minimum``..``maximum`` (``above_minimum``: strictly above), or one of ``choices``.

    ``null`` counts as absent; a required field may not be absent. ``after`` names a field of the same object this
    one must be greater than (a span's end after its start), a rule JSON Schema cannot state.
    """

    name: str
    help: str
    minimum: float
    maximum: float
    required: bool = False
    default: float | None = None
    integer: bool = False
    above_minimum: bool = False
    choices: tuple[int, ...] = ()
    unit: str = ""
    attribute: str = ""
    after: str | None = None

    @property
    def python_name(self) -> str:
        return self.attribute or self.name

    def parse(self, value: Any, where: str, error: ErrorFactory) -> float | int | None:
        """``value`` checked against this rule; ``None`` when absent and optional."""
        if value is None:
            if self.required:
                raise error(where, "is required")
            return None
        return self.integer_value(value, where, error) if self.integer else self.number_value(value, where, error)

    def number_value(self, value: Any, where: str, error: ErrorFactory) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error(where, "must be a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise error(where, "must be a finite number")
        self._check_range(number, where, error)
        return number

    def integer_value(self, value: Any, where: str, error: ErrorFactory) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error(where, "must be a whole number")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise error(where, "must be a whole number")
        whole = int(value)
        if self.choices and whole not in self.choices:
            raise error(where, f"must be one of {', '.join(str(choice) for choice in self.choices)}")
        self._check_range(whole, where, error)
        return whole

    def _check_range(self, number: float, where: str, error: ErrorFactory) -> None:
        if self.above_minimum and number <= self.minimum:
            raise error(where, f"must be greater than {self.minimum:g}")
        if number < self.minimum:
            raise error(where, f"must be at least {self.minimum:g}" if self.minimum else "must not be negative")
        if number > self.maximum:
            raise error(where, f"must be at most {self.maximum:g}")

    def schema(self) -> dict[str, Any]:
        """The field's JSON Schema (OpenAPI 3.1)."""
        kind = "integer" if self.integer else "number"
        schema: dict[str, Any] = {"type": kind if self.required else [kind, "null"], "description": self.help}
        if self.choices:
            schema["enum"] = [*self.choices, *([] if self.required else [None])]
            return schema
        schema["exclusiveMinimum" if self.above_minimum else "minimum"] = self.minimum
        schema["maximum"] = self.maximum
        if self.default is not None:
            schema["default"] = self.default
        return schema

    def to_json(self) -> dict[str, Any]:
        """The rule as the page reads it to set a form's limits and defaults."""
        return {
            "name": self.name,
            "help": self.help,
            "unit": self.unit,
            "required": self.required,
            "min": self.minimum,
            "max": self.maximum,
            "aboveMin": self.above_minimum,
            "default": self.default,
            "choices": list(self.choices) or None,
        }


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """A JSON string that must be one of ``choices``; ``null`` counts as absent."""

    name: str
    help: str
    choices: tuple[str, ...]
    required: bool = False
    default: str | None = None

    def parse(self, value: Any, where: str, error: ErrorFactory) -> str | None:
        if value is None:
            if self.required:
                raise error(where, f"is required; expected one of: {', '.join(self.choices)}")
            return self.default
        if value not in self.choices:
            raise error(where, f"unknown value {value!r}; expected one of: {', '.join(self.choices)}")
        return str(value)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"enum": [*self.choices, *([] if self.required else [None])], "description": self.help}
        if self.default is not None:
            schema["default"] = self.default
        return schema

    def to_json(self) -> dict[str, Any]:
        """The rule as the page reads it to offer its choices."""
        return {"name": self.name, "help": self.help, "choices": list(self.choices), "default": self.default}


@dataclass(frozen=True, slots=True)
class TextRule:
    """A JSON string of at most ``max_chars`` characters; ``null`` counts as absent."""

    name: str
    help: str
    max_chars: int

    def schema(self) -> dict[str, Any]:
        return {"type": ["string", "null"], "maxLength": self.max_chars, "description": self.help}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "help": self.help, "maxChars": self.max_chars}

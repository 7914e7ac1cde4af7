"""The edit list: its one validator, used by the web (422 answers) and by the worker (before executing).

Operations apply in order to the asset's timeline; times are seconds. ``parse_edit_list`` turns client JSON into
typed edits or raises ``EditListError`` naming the offending item the way the client wrote it (``edits[2].end``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from common.errors import EditListError

MAX_EDITS = 500
# Float seconds from a browser rarely land exactly on the last sample; allow a microsecond of slack.
DURATION_SLACK_S = 1e-6


@dataclass(frozen=True, slots=True)
class Trim:
    """Keep only ``start``..``end``."""

    start: float
    end: float
    op: str = "trim"


@dataclass(frozen=True, slots=True)
class Cut:
    """Remove ``start``..``end`` (with a short crossfade at the join)."""

    start: float
    end: float
    op: str = "cut"


@dataclass(frozen=True, slots=True)
class Gain:
    """Change the level by ``db``, over ``start``..``end`` or the whole timeline."""

    db: float
    start: float | None = None
    end: float | None = None
    op: str = "gain"


@dataclass(frozen=True, slots=True)
class FadeIn:
    duration: float
    op: str = "fadeIn"


@dataclass(frozen=True, slots=True)
class FadeOut:
    duration: float
    op: str = "fadeOut"


@dataclass(frozen=True, slots=True)
class Normalize:
    """Bring integrated loudness to ``target_lufs`` without exceeding ``true_peak_db``."""

    target_lufs: float
    true_peak_db: float = -1.0
    op: str = "normalize"


@dataclass(frozen=True, slots=True)
class TrimSilence:
    """Remove leading and trailing audio quieter than ``threshold_db`` lasting at least ``min_silence``."""

    threshold_db: float = -50.0
    min_silence: float = 0.5
    op: str = "trimSilence"


Edit = Trim | Cut | Gain | FadeIn | FadeOut | Normalize | TrimSilence

# JSON field name -> (attribute name, required, lowest allowed, highest allowed)
_FieldSpec = tuple[str, bool, float, float]
_SPECS: dict[str, tuple[type, dict[str, _FieldSpec]]] = {
    "trim": (Trim, {"start": ("start", True, 0.0, math.inf), "end": ("end", True, 0.0, math.inf)}),
    "cut": (Cut, {"start": ("start", True, 0.0, math.inf), "end": ("end", True, 0.0, math.inf)}),
    "gain": (
        Gain,
        {
            "db": ("db", True, -60.0, 40.0),
            "start": ("start", False, 0.0, math.inf),
            "end": ("end", False, 0.0, math.inf),
        },
    ),
    "fadeIn": (FadeIn, {"duration": ("duration", True, 0.0, math.inf)}),
    "fadeOut": (FadeOut, {"duration": ("duration", True, 0.0, math.inf)}),
    "normalize": (
        Normalize,
        {"targetLufs": ("target_lufs", True, -70.0, -5.0), "truePeakDb": ("true_peak_db", False, -20.0, 0.0)},
    ),
    "trimSilence": (
        TrimSilence,
        {
            "thresholdDb": ("threshold_db", False, -100.0, -10.0),
            "minSilence": ("min_silence", False, 0.01, 60.0),
        },
    ),
}


def parse_edit_list(raw: Any, duration_s: float | None) -> list[Edit]:
    """Validate ``raw`` (the ``edits`` JSON value) against a timeline of ``duration_s`` seconds.

    The duration is followed through the list: after a trim to 10 s, a later cut at 12 s is past the end.
    ``trimSilence`` can only shorten the timeline by an amount known once the audio is read, so spans after it
    are checked against the longest it can be; the worker checks again with the real duration.
    ``duration_s=None`` skips the duration checks.
    """
    if not isinstance(raw, list):
        raise EditListError("edits", "must be a list of edit operations")
    if len(raw) > MAX_EDITS:
        raise EditListError("edits", f"at most {MAX_EDITS} operations are allowed, got {len(raw)}")
    edits: list[Edit] = []
    timeline_s = duration_s
    for index, item in enumerate(raw):
        edit = _parse_item(item, f"edits[{index}]")
        timeline_s = _check_against_timeline(edit, f"edits[{index}]", timeline_s)
        edits.append(edit)
    return edits


def edit_list_to_json(edits: list[Edit]) -> list[dict[str, Any]]:
    """The client's JSON form of typed edits (the inverse of ``parse_edit_list``), for job payloads."""
    json_edits = []
    for edit in edits:
        _, fields = _SPECS[edit.op]
        values = asdict(edit)
        item: dict[str, Any] = {"op": edit.op}
        for json_name, (attribute, _required, _low, _high) in fields.items():
            if values[attribute] is not None:
                item[json_name] = values[attribute]
        json_edits.append(item)
    return json_edits


def _parse_item(item: Any, where: str) -> Edit:
    if not isinstance(item, dict):
        raise EditListError(where, "must be an object with an 'op' field")
    op = item.get("op")
    if op not in _SPECS:
        known = ", ".join(_SPECS)
        raise EditListError(f"{where}.op", f"unknown operation {op!r}; expected one of: {known}")
    edit_class, fields = _SPECS[op]
    for name in item:
        if name != "op" and name not in fields:
            raise EditListError(f"{where}.{name}", f"is not a field of '{op}'")
    values: dict[str, float] = {}
    for json_name, (attribute, required, low, high) in fields.items():
        if json_name not in item or item[json_name] is None:
            if required:
                raise EditListError(f"{where}.{json_name}", "is required")
            continue
        values[attribute] = _number(item[json_name], f"{where}.{json_name}", low, high)
    edit: Edit = edit_class(**values)
    _check_span(edit, where)
    return edit


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EditListError(where, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise EditListError(where, "must be a finite number")
    if number < low:
        raise EditListError(where, f"must be at least {low:g}" if low else "must not be negative")
    if number > high:
        raise EditListError(where, f"must be at most {high:g}")
    return number


def _check_span(edit: Edit, where: str) -> None:
    if isinstance(edit, Trim | Cut) and edit.end <= edit.start:
        raise EditListError(f"{where}.end", "must be greater than start")
    if isinstance(edit, Gain) and edit.start is not None and edit.end is not None and edit.end <= edit.start:
        raise EditListError(f"{where}.end", "must be greater than start")
    if isinstance(edit, FadeIn | FadeOut) and edit.duration <= 0:
        raise EditListError(f"{where}.duration", "must be greater than 0")


def _check_against_timeline(edit: Edit, where: str, timeline_s: float | None) -> float | None:
    """Raise if ``edit`` reaches past ``timeline_s``; return the timeline's length after it."""
    if timeline_s is None:
        return None
    limit = timeline_s + DURATION_SLACK_S
    spans: list[tuple[str, float | None]] = []
    if isinstance(edit, Trim | Cut | Gain):
        spans = [("start", edit.start), ("end", edit.end)]
    elif isinstance(edit, FadeIn | FadeOut):
        spans = [("duration", edit.duration)]
    for name, value in spans:
        if value is not None and value > limit:
            raise EditListError(f"{where}.{name}", f"{value:g} s is past the end of the audio ({timeline_s:.6g} s)")
    if isinstance(edit, Trim):
        return edit.end - edit.start
    if isinstance(edit, Cut):
        remaining = timeline_s - (min(edit.end, timeline_s) - edit.start)
        if remaining <= 0:
            raise EditListError(where, "cuts the whole audio; nothing would be left")
        return remaining
    return timeline_s

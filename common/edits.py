"""The edit list: its one validator, used by the web (422 answers) and by the worker (before executing).

Operations apply in order to the asset's timeline; times are seconds. ``OPERATIONS`` declares each operation and
its fields (range, default, help) once: the validator, the API's document and the page's form limits read it.
``parse_edit_list`` turns client JSON into typed edits or raises ``EditListError`` naming the offending item the way
the client wrote it (``edits[2].end``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from common.errors import EditListError
from common.rules import ChoiceRule, NumberRule

# Defaults of the optional fields, shared by the typed edits and the table that documents and serves them.
DEFAULT_TRUE_PEAK_DB = -1.0
DEFAULT_SILENCE_THRESHOLD_DB = -50.0
DEFAULT_MIN_SILENCE_S = 0.5
DEFAULT_HIGHPASS_HZ = 80.0
# 0 asks dehum to find the mains frequency (50 or 60 Hz) in the recording.
DETECT_HUM = 0
DEFAULT_HUM_HARMONICS = 8
# The codes of the notes a job result carries about what its repairs did (``repairNotes``), and when each is given;
# a code starting "no_" says the repair left the recording unchanged (the page shows those as warnings).
NO_HUM_FOUND = "no_hum_found"
HUM_REMOVED = "hum_removed"
NO_NOISE_PROFILE = "no_noise_profile"
NOISE_REDUCED = "noise_reduced"
NO_SPEECH_FOUND = "no_speech_found"
SPEECH_LEVELED = "speech_leveled"
REPAIR_NOTE_CODES = {
    HUM_REMOVED: "dehum notched out mains hum (found in the recording, or at the frequency asked)",
    NO_HUM_FOUND: "dehum looked for mains hum and found none, so it left the recording unchanged",
    NOISE_REDUCED: "denoise learned a noise profile from the recording's quietest passages (its level in dBFS) and "
    "lowered the noise by up to its reduction",
    NO_NOISE_PROFILE: "denoise found no sound to learn a noise profile from (the recording is silent, or shorter "
    "than its analysis block of a few tenths of a second), so it left the recording unchanged",
    SPEECH_LEVELED: "level brought speech to the recording's mean speech level (in dBFS), naming the most it raised "
    "and lowered it",
    NO_SPEECH_FOUND: "level found no speech (no passage stands out from the recording's quietest ones, as in steady "
    "noise or a tone), so it left the recording unchanged",
}
DEFAULT_DENOISE_REDUCTION_DB = 18.0
DEFAULT_DEESS_INTENSITY = 0.5
DEFAULT_LEVEL_MAX_GAIN_DB = 15.0
DEFAULT_MIN_PAUSE_S = 1.0
DEFAULT_KEEP_PAUSE_S = 0.5
DEFAULT_PAUSE_THRESHOLD_DB = -45.0


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
    true_peak_db: float = DEFAULT_TRUE_PEAK_DB
    op: str = "normalize"


@dataclass(frozen=True, slots=True)
class TrimSilence:
    """Remove leading and trailing audio quieter than ``threshold_db`` lasting at least ``min_silence``."""

    threshold_db: float = DEFAULT_SILENCE_THRESHOLD_DB
    min_silence: float = DEFAULT_MIN_SILENCE_S
    op: str = "trimSilence"


@dataclass(frozen=True, slots=True)
class Highpass:
    """Remove rumble below ``frequency``."""

    frequency: float = DEFAULT_HIGHPASS_HZ
    op: str = "highpass"


@dataclass(frozen=True, slots=True)
class Dehum:
    """Notch out mains hum at ``frequency`` (50 or 60 Hz; ``DETECT_HUM``: found in the audio) and its harmonics."""

    frequency: int = DETECT_HUM
    harmonics: int = DEFAULT_HUM_HARMONICS
    op: str = "dehum"


@dataclass(frozen=True, slots=True)
class Denoise:
    """Lower steady background noise by up to ``reduction_db``, from a noise profile learned in quiet passages."""

    reduction_db: float = DEFAULT_DENOISE_REDUCTION_DB
    op: str = "denoise"


@dataclass(frozen=True, slots=True)
class Deess:
    """Tame sibilance with ``intensity`` 0..1."""

    intensity: float = DEFAULT_DEESS_INTENSITY
    op: str = "deess"


@dataclass(frozen=True, slots=True)
class Level:
    """Bring quiet and loud speech to one level (at most ``max_gain_db`` either way); pauses are never raised."""

    max_gain_db: float = DEFAULT_LEVEL_MAX_GAIN_DB
    op: str = "level"


@dataclass(frozen=True, slots=True)
class ShortenPauses:
    """Pauses (below ``threshold_db``) longer than ``min_pause`` become ``keep_pause`` long."""

    min_pause: float = DEFAULT_MIN_PAUSE_S
    keep_pause: float = DEFAULT_KEEP_PAUSE_S
    threshold_db: float = DEFAULT_PAUSE_THRESHOLD_DB
    op: str = "shortenPauses"


# Repairs filter the recording as a whole, before the timeline edits (``common.audio.enhance``).
Repair = Highpass | Dehum | Denoise | Deess | Level
REPAIRS = (Highpass, Dehum, Denoise, Deess, Level)
REPAIR_OPS = frozenset(repair.__dataclass_fields__["op"].default for repair in REPAIRS)
Edit = (
    Trim
    | Cut
    | Gain
    | FadeIn
    | FadeOut
    | Normalize
    | TrimSilence
    | Highpass
    | Dehum
    | Denoise
    | Deess
    | Level
    | ShortenPauses
)

MAX_EDITS = 500
# Far beyond any recording MAX_DURATION_SECONDS lets in, yet small enough that a time in samples stays exact.
MAX_TIME_S = 1_000_000.0
# Gains add up where their spans overlap; whatever they cover, no sample moves further than one gain edit may.
MAX_TOTAL_GAIN_DB = 40.0
MIN_TOTAL_GAIN_DB = -60.0
# Each normalize or trimSilence left after ``merge_edits`` is a pass over the whole program measuring it: the cap
# keeps a list's cost within a few passes of the audio's length, whatever its size.
MAX_MEASURING_EDITS = 8
# Each repair runs on every pass over the audio: the cap keeps a list's filtering cost a few times one pass.
MAX_REPAIR_EDITS = 8
# Float seconds from a browser rarely land exactly on the last sample; allow a microsecond of slack.
DURATION_SLACK_S = 1e-6
# A trim or cut that leaves less than this would make a version with no audio to play or export.
MIN_KEPT_S = 0.01
# A context preview plays this much of the edited audio before and after each edit point, with a short silence
# between excerpts; a recording no longer than ``PREVIEW_WHOLE_UNDER_S`` is previewed whole whatever is asked, and
# one with no edit point in time (only level changes) plays its opening ``PREVIEW_OPENING_S``.
PREVIEW_CONTEXT_S = 3.0
PREVIEW_GAP_S = 0.5
PREVIEW_WHOLE_UNDER_S = 60.0
PREVIEW_OPENING_S = 30.0
PREVIEW_CONTEXT = "context"
PREVIEW_WHOLE = "whole"
#: The ``preview`` field of a preview request: what it plays. Only ``edit.preview`` requests take it.
PREVIEW_RULE = ChoiceRule(
    "preview",
    f"What the preview plays: 'context' (each edit point with {PREVIEW_CONTEXT_S:g} s of audio before and after, "
    f"excerpts joined by {PREVIEW_GAP_S:g} s of silence; answers quickly whatever the recording's length) or "
    f"'whole' (the whole edited recording). Recordings up to {PREVIEW_WHOLE_UNDER_S:g} s are always previewed "
    "whole. In context, repairs learn from a sample of the recording and start a little before each excerpt: "
    "very close to, not exactly, what saving makes.",
    (PREVIEW_CONTEXT, PREVIEW_WHOLE),
    default=PREVIEW_CONTEXT,
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One edit operation as declared: its typed edit, its help text and its fields, in the client's JSON names."""

    name: str
    edit_class: Callable[..., Edit]
    help: str
    fields: tuple[NumberRule, ...]
    # "edit" (timeline and level edits) or "enhance" (repairs and pause shortening): the page groups them so.
    kind: str = "edit"

    def field(self, name: str) -> NumberRule:
        return next(rule for rule in self.fields if rule.name == name)


def _time(name: str, help_text: str, *, required: bool = True, after: str | None = None) -> NumberRule:
    return NumberRule(name, help_text, 0.0, MAX_TIME_S, required=required, unit="s", after=after)


def _length(help_text: str) -> NumberRule:
    return NumberRule("duration", help_text, 0.0, MAX_TIME_S, required=True, above_minimum=True, unit="s")


OPERATIONS: dict[str, Operation] = {
    operation.name: operation
    for operation in (
        Operation(
            "trim",
            Trim,
            "Keep only start..end.",
            (_time("start", "Where the kept audio starts"), _time("end", "Where it ends", after="start")),
        ),
        Operation(
            "cut",
            Cut,
            "Remove start..end, with a short crossfade at the join.",
            (_time("start", "Where the removed span starts"), _time("end", "Where it ends", after="start")),
        ),
        Operation(
            "gain",
            Gain,
            "Change the level over start..end, or over the whole timeline without them.",
            (
                NumberRule("db", "The change of level", -60.0, 40.0, required=True, unit="dB"),
                _time("start", "Where the span starts (omit both for the whole timeline)", required=False),
                _time("end", "Where the span ends", required=False, after="start"),
            ),
        ),
        Operation("fadeIn", FadeIn, "Fade in from silence at the start.", (_length("How long the fade lasts"),)),
        Operation("fadeOut", FadeOut, "Fade out to silence at the end.", (_length("How long the fade lasts"),)),
        Operation(
            "normalize",
            Normalize,
            "Bring the integrated loudness to a target without exceeding a true-peak ceiling.",
            (
                NumberRule(
                    "targetLufs",
                    "The integrated loudness to reach",
                    -70.0,
                    -5.0,
                    required=True,
                    unit="LUFS",
                    attribute="target_lufs",
                ),
                NumberRule(
                    "truePeakDb",
                    "The true-peak ceiling",
                    -20.0,
                    0.0,
                    default=DEFAULT_TRUE_PEAK_DB,
                    unit="dBTP",
                    attribute="true_peak_db",
                ),
            ),
        ),
        Operation(
            "trimSilence",
            TrimSilence,
            "Remove leading and trailing audio quieter than a threshold lasting at least a minimum length.",
            (
                NumberRule(
                    "thresholdDb",
                    "Audio below this level is silence",
                    -100.0,
                    -10.0,
                    default=DEFAULT_SILENCE_THRESHOLD_DB,
                    unit="dB",
                    attribute="threshold_db",
                ),
                NumberRule(
                    "minSilence",
                    "The shortest stretch of silence removed",
                    0.01,
                    60.0,
                    default=DEFAULT_MIN_SILENCE_S,
                    unit="s",
                    attribute="min_silence",
                ),
            ),
        ),
        Operation(
            "highpass",
            Highpass,
            "Remove rumble (traffic, handling, air conditioning) below a frequency.",
            (
                NumberRule(
                    "frequency", "Below this, sound is removed", 20.0, 300.0, default=DEFAULT_HIGHPASS_HZ, unit="Hz"
                ),
            ),
            kind="enhance",
        ),
        Operation(
            "dehum",
            Dehum,
            "Remove mains hum and its harmonics.",
            (
                NumberRule(
                    "frequency",
                    "The mains frequency; 0 finds it in the recording",
                    0,
                    60,
                    integer=True,
                    choices=(DETECT_HUM, 50, 60),
                    default=DETECT_HUM,
                    unit="Hz",
                ),
                NumberRule(
                    "harmonics",
                    "How many multiples of it are removed",
                    1,
                    16,
                    integer=True,
                    default=DEFAULT_HUM_HARMONICS,
                ),
            ),
            kind="enhance",
        ),
        Operation(
            "denoise",
            Denoise,
            "Lower steady background noise (hiss, fans), learned from the recording's quiet passages.",
            (
                NumberRule(
                    "reductionDb",
                    "How far the noise is lowered",
                    3.0,
                    40.0,
                    default=DEFAULT_DENOISE_REDUCTION_DB,
                    unit="dB",
                    attribute="reduction_db",
                ),
            ),
            kind="enhance",
        ),
        Operation(
            "deess",
            Deess,
            "Tame harsh s and sh sounds.",
            (NumberRule("intensity", "How strongly sibilance is lowered", 0.0, 1.0, default=DEFAULT_DEESS_INTENSITY),),
            kind="enhance",
        ),
        Operation(
            "level",
            Level,
            "Bring quiet and loud speakers to one level without raising the noise between phrases.",
            (
                NumberRule(
                    "maxGainDb",
                    "The most speech is raised or lowered",
                    1.0,
                    30.0,
                    default=DEFAULT_LEVEL_MAX_GAIN_DB,
                    unit="dB",
                    attribute="max_gain_db",
                ),
            ),
            kind="enhance",
        ),
        Operation(
            "shortenPauses",
            ShortenPauses,
            "Shorten pauses longer than a minimum to a set length, with short crossfades.",
            (
                NumberRule(
                    "minPause",
                    "Pauses longer than this are shortened",
                    0.2,
                    60.0,
                    default=DEFAULT_MIN_PAUSE_S,
                    unit="s",
                    attribute="min_pause",
                ),
                NumberRule(
                    "keepPause",
                    "How long a shortened pause lasts (a pause no longer than this is left as it is)",
                    0.05,
                    30.0,
                    default=DEFAULT_KEEP_PAUSE_S,
                    unit="s",
                    attribute="keep_pause",
                ),
                NumberRule(
                    "thresholdDb",
                    "Audio whose peaks stay below this level is a pause",
                    -100.0,
                    -10.0,
                    default=DEFAULT_PAUSE_THRESHOLD_DB,
                    unit="dB",
                    attribute="threshold_db",
                ),
            ),
            kind="enhance",
        ),
    )
}


def parse_edit_list(raw: Any, duration_s: float | None) -> list[Edit]:
    """Validate ``raw`` (the ``edits`` JSON value) against a timeline of ``duration_s`` seconds.

    The duration is followed through the list: after a trim to 10 s, a later cut at 12 s is past the end.
    ``trimSilence`` can only shorten the timeline by an amount known once the audio is read, so spans after it
    are checked against the longest it can be; the worker checks again with the real duration.
    ``duration_s=None`` skips the duration checks. The gains of the whole list are bounded together (see
    ``MAX_TOTAL_GAIN_DB``).
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
    _check_total_gain(edits)
    _check_measuring_passes(edits)
    repairs = sum(1 for edit in edits if isinstance(edit, REPAIRS))
    if repairs > MAX_REPAIR_EDITS:
        raise EditListError(
            "edits",
            f"the list has {repairs} repair operations (highpass, dehum, denoise, deess, level); "
            f"at most {MAX_REPAIR_EDITS} are allowed",
        )
    return edits


def edit_list_to_json(edits: list[Edit]) -> list[dict[str, Any]]:
    """The client's JSON form of typed edits (the inverse of ``parse_edit_list``), for job payloads."""
    json_edits = []
    for edit in edits:
        values = asdict(edit)
        item: dict[str, Any] = {"op": edit.op}
        for rule in OPERATIONS[edit.op].fields:
            if values[rule.python_name] is not None:
                item[rule.name] = values[rule.python_name]
        json_edits.append(item)
    return json_edits


def edit_rules_to_json() -> dict[str, Any]:
    """The operations with their fields' limits and defaults, and the list's own bounds, for the page's form."""
    return {
        "operations": [
            {
                "op": name,
                "kind": operation.kind,
                "help": operation.help,
                "fields": [rule.to_json() for rule in operation.fields],
            }
            for name, operation in OPERATIONS.items()
        ],
        "maxRepairEdits": MAX_REPAIR_EDITS,
        "maxEdits": MAX_EDITS,
        "totalGainDb": {"min": MIN_TOTAL_GAIN_DB, "max": MAX_TOTAL_GAIN_DB},
        "maxMeasuringEdits": MAX_MEASURING_EDITS,
        "minKeptSec": MIN_KEPT_S,
        "preview": {
            **PREVIEW_RULE.to_json(),
            "contextSec": PREVIEW_CONTEXT_S,
            "gapSec": PREVIEW_GAP_S,
            "wholeUnderSec": PREVIEW_WHOLE_UNDER_S,
        },
    }


def parse_preview_mode(raw: Any) -> str:
    """The ``preview`` field of a preview request (absent: ``context``)."""
    return PREVIEW_RULE.parse(raw, PREVIEW_RULE.name, EditListError) or PREVIEW_CONTEXT


def _parse_item(item: Any, where: str) -> Edit:
    if not isinstance(item, dict):
        raise EditListError(where, "must be an object with an 'op' field")
    op = item.get("op")
    if not isinstance(op, str) or op not in OPERATIONS:
        known = ", ".join(OPERATIONS)
        raise EditListError(f"{where}.op", f"unknown operation {op!r}; expected one of: {known}")
    operation = OPERATIONS[op]
    names = {rule.name for rule in operation.fields}
    for name in item:
        if name != "op" and name not in names:
            raise EditListError(f"{where}.{name}", f"is not a field of '{op}'")
    values: dict[str, float] = {}
    for rule in operation.fields:
        value = rule.parse(item.get(rule.name), f"{where}.{rule.name}", EditListError)
        if value is None:
            continue
        partner = None if rule.after is None else values.get(operation.field(rule.after).python_name)
        if partner is not None and value <= partner:
            raise EditListError(f"{where}.{rule.name}", f"must be greater than {rule.after}")
        values[rule.python_name] = value
    return operation.edit_class(**values)


def _check_total_gain(edits: list[Edit]) -> None:
    raised = sum(edit.db for edit in edits if isinstance(edit, Gain) and edit.db > 0)
    lowered = sum(edit.db for edit in edits if isinstance(edit, Gain) and edit.db < 0)
    if raised > MAX_TOTAL_GAIN_DB:
        raise EditListError(
            "edits",
            f"the gains add up to +{raised:g} dB; together they may raise the level by at most "
            f"{MAX_TOTAL_GAIN_DB:g} dB",
        )
    if lowered < MIN_TOTAL_GAIN_DB:
        raise EditListError(
            "edits",
            f"the gains add up to {lowered:g} dB; together they may lower the level by at most "
            f"{-MIN_TOTAL_GAIN_DB:g} dB",
        )


def _check_measuring_passes(edits: list[Edit]) -> None:
    measuring = sum(1 for _, edit in merge_edits(edits) if isinstance(edit, Normalize | TrimSilence | ShortenPauses))
    if measuring > MAX_MEASURING_EDITS:
        raise EditListError(
            "edits",
            f"the list needs {measuring} measuring passes over the audio (normalize, trimSilence and shortenPauses "
            f"operations that do not directly follow one another); at most {MAX_MEASURING_EDITS} are allowed",
        )


NumberedEdit = tuple[int, Edit]


def merge_edits(edits: list[Edit]) -> list[NumberedEdit]:
    """The edit list with every run of consecutive whole-timeline level edits (gains without a span, normalizes)
    collapsed, so its cost does not grow with such runs (500 normalizes would be 500 measuring passes):

    - gains without a span add up into one gain (their sum in dB);
    - a normalize sets the level whatever it was, so in a run holding one, everything before its last normalize
      is dropped: the run becomes that normalize, then the sum of the gains after it.

    Both are exact but for the earlier normalizes' peak limiting, which the last normalize does again at its own
    ceiling. Edits that change the timeline or its shape (trims, cuts, span gains, fades, trimSilence) end a run.
    """
    merged: list[NumberedEdit] = []
    run: list[tuple[int, Gain | Normalize]] = []
    for index, edit in enumerate(edits):
        if isinstance(edit, Normalize) or (isinstance(edit, Gain) and edit.start is None and edit.end is None):
            run.append((index, edit))
            continue
        merged += _collapse(run)
        run = []
        merged.append((index, edit))
    return merged + _collapse(run)


def _collapse(run: list[tuple[int, Gain | Normalize]]) -> list[NumberedEdit]:
    if not run:
        return []
    normalizes = [position for position, (_, edit) in enumerate(run) if isinstance(edit, Normalize)]
    first_gain = normalizes[-1] + 1 if normalizes else 0
    collapsed: list[NumberedEdit] = [run[normalizes[-1]]] if normalizes else []
    total_db = sum(edit.db for _, edit in run[first_gain:] if isinstance(edit, Gain))
    if total_db != 0:
        collapsed.append((run[-1][0], Gain(total_db)))
    return collapsed


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
        kept = min(edit.end, timeline_s) - edit.start
        if kept < MIN_KEPT_S:
            raise EditListError(f"{where}.end", f"keeps {max(kept, 0):g} s; at least {MIN_KEPT_S:g} s must be left")
        return kept
    if isinstance(edit, Cut):
        remaining = timeline_s - (min(edit.end, timeline_s) - edit.start)
        if remaining < MIN_KEPT_S:
            raise EditListError(where, f"leaves {max(remaining, 0):g} s; at least {MIN_KEPT_S:g} s must be left")
        return remaining
    return timeline_s

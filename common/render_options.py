"""Render requests: their one validator, used by the web (422 answers) and by the render handler.

A render request is a JSON object (all keys but ``format`` optional, ``null`` means absent)::

    {
      "format": "mp3" | "m4a" | "opus" | "flac" | "wav",
      "preset": "podcast" | "apple-podcasts" | "spotify" | "youtube" | "ebu-r128" | "audiobook-acx" | "custom"
                | null,
      "bitrate": 128,                     # kbit/s, lossy formats only (see BITRATE_RULES)
      "tags": {"title": "...", "artist": "...", "album": "...", "comment": "..."},
      "targets": {                        # explicit targets; each one overrides the preset's
        "integratedLufs": -16.0,          # -70..-5
        "truePeakDb": -1.0,               # -20..0 (dBTP ceiling)
        "sampleRate": 44100,              # one of SAMPLE_RATES (mp3: up to 48000; opus: always 48000)
        "channels": 1                     # 1 or 2
      }
    }

Presets:

- ``podcast`` and ``apple-podcasts``: -16 LUFS integrated, -1 dBTP ceiling, 44.1 kHz.
- ``spotify``: -14 LUFS, -1 dBTP, 44.1 kHz; ``youtube``: the same at 48 kHz; ``ebu-r128`` (broadcast): -23 LUFS,
  -1 dBTP, 48 kHz.
- ``custom``: the loudness and ceiling the request's ``targets`` give; both are required.
- ``audiobook-acx``: RMS between -23 and -18 dB (aimed at -20 dB), peaks at most -3 dB, 44.1 kHz, mono, 192 kbit/s
  CBR MP3, noise floor at most -60 dB. It requires ``format: "mp3"`` and refuses any other ``bitrate``, since ACX
  accepts nothing else.

Every render's result carries a compliance report (``common.audio.compliance``): each measured figure of the
delivered file beside the preset's limit for it, with pass or fail.

Without a preset or target the audio keeps its level, rate and channels. Each option is declared once
(``FORMAT_RULE``, ``PRESET_RULE``, ``TARGET_RULES``, ``TAG_RULES``, ``BITRATE_RULES``): the validator, the API's
document and the page's form limits read those declarations. ``parse_render_options`` raises ``RenderOptionsError``
whose ``field`` names the offending key the way the client wrote it (``tags.title``). ``render_catalogue_to_json``
answers the presets, their targets, the formats with their bitrates and the tags' limits, so that a client offers
only what this module accepts.

This module is request validation and the data the audio engine reads (``RenderOptions``, the preset targets); it
imports nothing of the engine, so the web can check a request without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from common.errors import AppError
from common.rules import ChoiceRule, NumberRule, TextRule
from common.text import disallowed_character

FORMATS = ("mp3", "m4a", "opus", "flac", "wav")
LOSSY_FORMATS = ("mp3", "m4a", "opus")
PRESETS = ("podcast", "apple-podcasts", "spotify", "youtube", "ebu-r128", "audiobook-acx", "custom")
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)

# The CBR bitrates an MPEG-1 layer III frame can signal (32-48 kHz, the rates our presets use).
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
# Opus always codes at 48 kHz; other rates are only a hint in its header, so a render to Opus is 48 kHz.
OPUS_SAMPLE_RATE = 48000
# format -> (lowest kbit/s, highest kbit/s, default kbit/s)
BITRATE_RULES: dict[str, tuple[int, int, int]] = {
    "mp3": (32, 320, 128),
    "m4a": (32, 320, 128),
    "opus": (6, 256, 96),
}
FORMAT_SAMPLE_RATES: dict[str, tuple[int, ...]] = {
    "mp3": tuple(rate for rate in SAMPLE_RATES if rate <= 48000),
    "opus": (OPUS_SAMPLE_RATE,),
}

FORMAT_RULE = ChoiceRule("format", "The file format to write", FORMATS, required=True)
PRESET_RULE = ChoiceRule("preset", "Loudness and encoding targets to meet; explicit targets override them", PRESETS)
TARGET_RULES = (
    NumberRule(
        "integratedLufs", "Integrated loudness to level to", -70.0, -5.0, unit="LUFS", attribute="integrated_lufs"
    ),
    NumberRule("truePeakDb", "True-peak ceiling", -20.0, 0.0, unit="dBTP", attribute="true_peak_db"),
    NumberRule(
        "sampleRate",
        "Sample rate of the file",
        min(SAMPLE_RATES),
        max(SAMPLE_RATES),
        integer=True,
        choices=SAMPLE_RATES,
        unit="Hz",
        attribute="sample_rate",
    ),
    NumberRule("channels", "1 (mono) or 2 (stereo)", 1, 2, integer=True, choices=(1, 2)),
)
TAG_RULES = (
    TextRule("title", "Title tag", 256),
    TextRule("artist", "Artist tag", 256),
    TextRule("album", "Album tag", 256),
    TextRule("comment", "Comment tag", 1024),
)
# The keys of a render request, in the client's JSON names; the job payload carries the same keys.
RENDER_OPTION_NAMES = ("format", "preset", "bitrate", "tags", "targets")
TAG_NAMES = tuple(rule.name for rule in TAG_RULES)
_TARGET_NAMES = tuple(rule.name for rule in TARGET_RULES)

ACX_BITRATE_KBPS = 192
# Presets that allow one encoding only: (format, kbit/s).
PRESET_ENCODINGS: dict[str, tuple[str, int]] = {"audiobook-acx": ("mp3", ACX_BITRATE_KBPS)}
PRESET_LABELS = {
    "podcast": "Podcast",
    "apple-podcasts": "Apple Podcasts",
    "spotify": "Spotify",
    "youtube": "YouTube",
    "ebu-r128": "EBU R128 broadcast",
    "audiobook-acx": "Audiobook (ACX)",
    "custom": "Custom",
}
# Presets whose level comes from the request: these targets must be given (client names).
PRESET_REQUIRED_TARGETS: dict[str, tuple[str, ...]] = {"custom": ("integratedLufs", "truePeakDb")}
FORMAT_LABELS = {"mp3": "MP3", "m4a": "M4A (AAC)", "opus": "Opus", "flac": "FLAC (lossless)", "wav": "WAV (lossless)"}


class RenderOptionsError(AppError):
    """A render request is invalid; ``field`` names the offending key, e.g. ``tags.title`` or ``bitrate``."""

    code = "invalid_render_options"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class RenderTargets:
    """What the rendered file must meet; ``None`` means "keep what the source has" (or "no check")."""

    integrated_lufs: float | None = None
    true_peak_db: float | None = None
    rms_db_min: float | None = None
    rms_db_max: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    # Checked in the compliance report only; nothing in the render aims at it.
    noise_floor_db_max: float | None = None

    @property
    def rms_db_aim(self) -> float | None:
        """The RMS level to aim at when only an RMS window is given: its middle."""
        if self.rms_db_min is None or self.rms_db_max is None:
            return None
        return (self.rms_db_min + self.rms_db_max) / 2


PRESET_TARGETS: dict[str, RenderTargets] = {
    "podcast": RenderTargets(integrated_lufs=-16.0, true_peak_db=-1.0, sample_rate=44100),
    "apple-podcasts": RenderTargets(integrated_lufs=-16.0, true_peak_db=-1.0, sample_rate=44100),
    "spotify": RenderTargets(integrated_lufs=-14.0, true_peak_db=-1.0, sample_rate=44100),
    "youtube": RenderTargets(integrated_lufs=-14.0, true_peak_db=-1.0, sample_rate=48000),
    "ebu-r128": RenderTargets(integrated_lufs=-23.0, true_peak_db=-1.0, sample_rate=48000),
    "audiobook-acx": RenderTargets(
        true_peak_db=-3.0, rms_db_min=-23.0, rms_db_max=-18.0, sample_rate=44100, channels=1, noise_floor_db_max=-60.0
    ),
    "custom": RenderTargets(),
}


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """A validated render request. ``targets`` and ``bitrate_kbps`` hold only what the client asked for;
    ``resolved_targets`` and ``resolved_bitrate_kbps`` merge in the preset and the defaults."""

    format: str
    preset: str | None = None
    bitrate_kbps: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    targets: RenderTargets = field(default_factory=RenderTargets)

    @property
    def resolved_targets(self) -> RenderTargets:
        base = PRESET_TARGETS[self.preset] if self.preset else RenderTargets()
        explicit = {
            name: getattr(self.targets, name)
            for name in ("integrated_lufs", "true_peak_db", "sample_rate", "channels")
            if getattr(self.targets, name) is not None
        }
        if self.format == "opus":
            explicit["sample_rate"] = OPUS_SAMPLE_RATE
        return replace(base, **explicit)

    @property
    def resolved_bitrate_kbps(self) -> int | None:
        """The encoder's bitrate, or ``None`` for lossless formats."""
        if self.format not in LOSSY_FORMATS:
            return None
        if self.bitrate_kbps is not None:
            return self.bitrate_kbps
        if self.preset in PRESET_ENCODINGS:
            return PRESET_ENCODINGS[self.preset][1]
        return BITRATE_RULES[self.format][2]


def parse_render_options(raw: Any) -> RenderOptions:
    """Validate a render request (see the module docstring) and return it typed."""
    if not isinstance(raw, dict):
        raise RenderOptionsError("body", "must be a JSON object")
    _check_names(raw, RENDER_OPTION_NAMES, "", "a render option")
    output_format = str(FORMAT_RULE.parse(raw.get("format"), "format", RenderOptionsError))
    preset = PRESET_RULE.parse(raw.get("preset"), "preset", RenderOptionsError)
    bitrate = _bitrate(raw.get("bitrate"), output_format)
    tags = _tags(raw.get("tags"))
    targets = _targets(raw.get("targets"))
    for name in PRESET_REQUIRED_TARGETS.get(preset or "", ()):
        rule = next(rule for rule in TARGET_RULES if rule.name == name)
        if getattr(targets, rule.python_name) is None:
            raise RenderOptionsError(f"targets.{name}", f"is required with the {preset} preset")
    if preset in PRESET_ENCODINGS:
        preset_format, preset_kbps = PRESET_ENCODINGS[preset]
        if output_format != preset_format:
            raise RenderOptionsError(
                "format", f"the {preset} preset produces {preset_format.upper()} only; use format {preset_format!r}"
            )
        if bitrate is not None and bitrate != preset_kbps:
            raise RenderOptionsError("bitrate", f"the {preset} preset requires {preset_kbps} kbit/s")
    allowed_rates = FORMAT_SAMPLE_RATES.get(output_format)
    if targets.sample_rate is not None and allowed_rates is not None and targets.sample_rate not in allowed_rates:
        rates = ", ".join(str(rate) for rate in allowed_rates)
        raise RenderOptionsError("targets.sampleRate", f"{output_format} is written at {rates} Hz only")
    return RenderOptions(output_format, preset, bitrate, tags, targets)


def render_options_to_json(options: RenderOptions) -> dict[str, Any]:
    """The request form of ``options`` (the inverse of ``parse_render_options``), for the job payload."""
    return {
        "format": options.format,
        "preset": options.preset,
        "bitrate": options.bitrate_kbps,
        "tags": dict(options.tags),
        "targets": {
            rule.name: getattr(options.targets, rule.python_name)
            for rule in TARGET_RULES
            if getattr(options.targets, rule.python_name) is not None
        },
    }


def targets_to_json(targets: RenderTargets) -> dict[str, Any]:
    """The resolved targets as reported in a render result (absent targets are ``null``)."""
    return {
        "integratedLufs": targets.integrated_lufs,
        "truePeakDb": targets.true_peak_db,
        "rmsDbMin": targets.rms_db_min,
        "rmsDbMax": targets.rms_db_max,
        "sampleRate": targets.sample_rate,
        "channels": targets.channels,
        "noiseFloorDbMax": targets.noise_floor_db_max,
    }


def render_catalogue_to_json() -> dict[str, Any]:
    """The presets with their targets and encoding, the formats with the bitrates they take (``null`` for a
    lossless format; ``allowed`` lists the only bitrates a format takes, ``null`` when any whole number in range
    will do), and the tags with their length limits."""
    presets = []
    for name in PRESETS:
        preset_format, preset_kbps = PRESET_ENCODINGS.get(name, (None, None))
        presets.append(
            {
                "name": name,
                "label": PRESET_LABELS[name],
                "format": preset_format,
                "bitrate": preset_kbps,
                "targets": targets_to_json(PRESET_TARGETS[name]),
                "requiredTargets": list(PRESET_REQUIRED_TARGETS.get(name, ())),
            }
        )
    formats = []
    for name in FORMATS:
        bitrate = None
        if name in BITRATE_RULES:
            low, high, default = BITRATE_RULES[name]
            allowed = listed_bitrates(name)
            bitrate = {
                "min": low,
                "max": high,
                "default": default,
                "allowed": None if allowed is None else list(allowed),
            }
        formats.append(
            {"name": name, "label": FORMAT_LABELS[name], "lossless": name not in LOSSY_FORMATS, "bitrate": bitrate}
        )
    return {"presets": presets, "formats": formats, "tags": [rule.to_json() for rule in TAG_RULES]}


def _check_names(value: dict[str, Any], known: tuple[str, ...], prefix: str, what: str) -> None:
    for key in value:
        if key not in known:
            raise RenderOptionsError(f"{prefix}{key}", f"is not {what}; expected one of: {', '.join(known)}")


def _bitrate(value: Any, output_format: str | None) -> int | None:
    if value is None:
        return None
    if output_format not in LOSSY_FORMATS:
        raise RenderOptionsError("bitrate", f"applies only to {', '.join(LOSSY_FORMATS)}; {output_format} is lossless")
    kbps = bitrate_rule(output_format).integer_value(value, "bitrate", RenderOptionsError)
    allowed = listed_bitrates(output_format)
    if allowed is not None and kbps not in allowed:
        listed = ", ".join(str(rate) for rate in allowed)
        raise RenderOptionsError("bitrate", f"MP3 CBR takes one of {listed} kbit/s, got {kbps}")
    return kbps


def bitrate_rule(output_format: str) -> NumberRule:
    """The bitrate a lossy ``output_format`` takes, as a declared rule."""
    low, high, default = BITRATE_RULES[output_format]
    return NumberRule("bitrate", f"{output_format} bitrate", low, high, integer=True, default=default, unit="kbit/s")


def listed_bitrates(output_format: str) -> tuple[int, ...] | None:
    """The only bitrates ``output_format`` takes, or ``None`` when any whole number in its range will do."""
    if output_format != "mp3":
        return None
    low, high, _default = BITRATE_RULES[output_format]
    return tuple(rate for rate in MP3_BITRATES if low <= rate <= high)


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RenderOptionsError("tags", "must be an object")
    _check_names(value, TAG_NAMES, "tags.", "a supported tag")
    tags: dict[str, str] = {}
    for rule in TAG_RULES:
        text = value.get(rule.name)
        if text is not None:
            tags[rule.name] = _tag_text(text, f"tags.{rule.name}", rule.max_chars)
    return tags


def _tag_text(text: Any, where: str, max_chars: int) -> str:
    """The one check of a tag's text: a string of at most ``max_chars`` characters fit to show."""
    if not isinstance(text, str):
        raise RenderOptionsError(where, "must be a string")
    if len(text) > max_chars:
        raise RenderOptionsError(where, f"must be at most {max_chars} characters")
    refused_character = disallowed_character(text)
    if refused_character is not None:
        raise RenderOptionsError(where, f"must not contain {refused_character}")
    return text


def _targets(value: Any) -> RenderTargets:
    if value is None:
        return RenderTargets()
    if not isinstance(value, dict):
        raise RenderOptionsError("targets", "must be an object")
    _check_names(value, _TARGET_NAMES, "targets.", "a target")
    values: dict[str, Any] = {
        rule.python_name: rule.parse(value.get(rule.name), f"targets.{rule.name}", RenderOptionsError)
        for rule in TARGET_RULES
    }
    return RenderTargets(**values)

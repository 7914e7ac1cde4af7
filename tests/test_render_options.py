"""The render request validator: what it accepts, what it refuses (naming the key), and its JSON round trip."""

from __future__ import annotations

import pytest

from common.render_options import (
    RenderOptionsError,
    parse_render_options,
    render_catalogue_to_json,
    render_options_to_json,
)


def test_presets_resolve_to_their_targets_and_explicit_targets_win() -> None:
    podcast = parse_render_options({"format": "m4a", "preset": "podcast", "targets": {"integratedLufs": -18}})
    acx = parse_render_options({"format": "mp3", "preset": "audiobook-acx"})

    assert podcast.resolved_targets.integrated_lufs == -18.0
    assert podcast.resolved_targets.true_peak_db == -1.0
    assert podcast.resolved_targets.sample_rate == 44100
    assert podcast.resolved_bitrate_kbps == 128
    targets = acx.resolved_targets
    assert (targets.rms_db_min, targets.rms_db_max, targets.true_peak_db) == (-23.0, -18.0, -3.0)
    assert (targets.sample_rate, targets.channels, acx.resolved_bitrate_kbps) == (44100, 1, 192)


def test_opus_is_always_48k_and_lossless_formats_have_no_bitrate() -> None:
    assert parse_render_options({"format": "opus", "preset": "podcast"}).resolved_targets.sample_rate == 48000
    assert parse_render_options({"format": "wav"}).resolved_bitrate_kbps is None


def test_round_trip_through_the_job_payload() -> None:
    options = parse_render_options(
        {
            "format": "mp3",
            "preset": "podcast",
            "bitrate": 96,
            "tags": {"title": "T", "comment": "c"},
            "targets": {"truePeakDb": -2, "channels": 1},
        }
    )

    assert parse_render_options(render_options_to_json(options)) == options


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ([], "body"),
        ({}, "format"),
        ({"format": "ogg"}, "format"),
        ({"format": "mp3", "colour": "red"}, "colour"),
        ({"format": "mp3", "preset": "radio"}, "preset"),
        ({"format": "wav", "bitrate": 128}, "bitrate"),
        ({"format": "mp3", "bitrate": 130}, "bitrate"),
        ({"format": "mp3", "bitrate": 1000}, "bitrate"),
        ({"format": "opus", "bitrate": "96"}, "bitrate"),
        ({"format": "mp3", "tags": {"genre": "x"}}, "tags.genre"),
        ({"format": "mp3", "tags": {"title": 5}}, "tags.title"),
        ({"format": "mp3", "tags": {"title": "x" * 300}}, "tags.title"),
        ({"format": "mp3", "tags": "title"}, "tags"),
        ({"format": "mp3", "targets": {"loudness": -16}}, "targets.loudness"),
        ({"format": "mp3", "targets": {"integratedLufs": 3}}, "targets.integratedLufs"),
        ({"format": "mp3", "targets": {"truePeakDb": float("nan")}}, "targets.truePeakDb"),
        ({"format": "mp3", "targets": {"sampleRate": 96000}}, "targets.sampleRate"),
        ({"format": "flac", "targets": {"sampleRate": 12345}}, "targets.sampleRate"),
        ({"format": "opus", "targets": {"sampleRate": 44100}}, "targets.sampleRate"),
        ({"format": "wav", "targets": {"channels": 6}}, "targets.channels"),
        ({"format": "m4a", "preset": "audiobook-acx"}, "format"),
        ({"format": "mp3", "preset": "audiobook-acx", "bitrate": 128}, "bitrate"),
    ],
)
def test_invalid_requests_name_the_offending_key(request_body: object, field: str) -> None:
    with pytest.raises(RenderOptionsError) as caught:
        parse_render_options(request_body)

    assert caught.value.code == "invalid_render_options"
    assert caught.value.field == field
    assert caught.value.message.startswith(field)


@pytest.mark.parametrize(
    ("preset", "lufs", "peak"),
    [("apple-podcasts", -16.0, -1.0), ("spotify", -14.0, -1.0), ("youtube", -14.0, -1.0), ("ebu-r128", -23.0, -1.0)],
)
def test_platform_presets_aim_at_their_published_targets(preset: str, lufs: float, peak: float) -> None:
    targets = parse_render_options({"format": "mp3", "preset": preset}).resolved_targets
    assert (targets.integrated_lufs, targets.true_peak_db) == (lufs, peak)


def test_the_custom_preset_needs_a_level_and_a_ceiling() -> None:
    with pytest.raises(RenderOptionsError) as missing:
        parse_render_options({"format": "wav", "preset": "custom", "targets": {"integratedLufs": -19}})
    assert missing.value.field == "targets.truePeakDb"
    with pytest.raises(RenderOptionsError) as out_of_range:
        parse_render_options({"format": "wav", "preset": "custom", "targets": {"integratedLufs": 3, "truePeakDb": -2}})
    assert out_of_range.value.field == "targets.integratedLufs"
    custom = parse_render_options(
        {"format": "wav", "preset": "custom", "targets": {"integratedLufs": -19, "truePeakDb": -2}}
    )
    assert (custom.resolved_targets.integrated_lufs, custom.resolved_targets.true_peak_db) == (-19.0, -2.0)


def test_the_catalogue_names_what_each_preset_needs_and_acx_checks_the_noise_floor() -> None:
    presets = {preset["name"]: preset for preset in render_catalogue_to_json()["presets"]}
    assert presets["custom"]["requiredTargets"] == ["integratedLufs", "truePeakDb"]
    assert presets["spotify"]["requiredTargets"] == []
    assert presets["audiobook-acx"]["targets"]["noiseFloorDbMax"] == -60.0

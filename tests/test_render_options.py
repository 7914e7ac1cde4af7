"""The render request validator: what it accepts, what it refuses (naming the key), and its JSON round trip."""

from __future__ import annotations

import pytest

from common.render_options import RenderOptionsError, parse_render_options, render_options_to_json


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

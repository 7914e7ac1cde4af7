"""``POST /api/audio/edit/preview``, ``/edit/save`` and ``/api/render``, and ``GET /api/audio/assets/{id}``.

Assets are recorded with the store's ``add_asset_version``, exactly as the worker records them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from common.ids import new_id
from common.jobs import AssetVersion, JobStatus, JobStore, JobType, to_poll_body
from common.jobs.poll import iso_utc
from common.render_options import parse_render_options, render_options_to_json
from tests.web.helpers import assert_error

EDIT_PATHS = {JobType.EDIT_PREVIEW: "/api/audio/edit/preview", JobType.EDIT_SAVE: "/api/audio/edit/save"}
CREATE_PATHS = [*EDIT_PATHS.values(), "/api/render"]
LOUDNESS = {"integratedLufs": -19.2, "loudnessRangeLu": 4.1, "truePeakDbtp": -2.3, "rmsDb": -22.0}


def version_info(duration_s: float, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Interview",
        "durationSec": duration_s,
        "sampleRate": 48000,
        "channels": 2,
        "format": "wav",
        "codec": "pcm_s16le",
        "loudness": LOUDNESS,
        "audioUrl": "/media/assets/x/master.flac",
        "peaksUrl": "/media/assets/x/peaks.json",
        **extra,
    }


async def make_asset(store: JobStore, durations_s: list[float]) -> list[AssetVersion]:
    """An asset whose versions last ``durations_s``, recorded by jobs that really exist in the store."""
    asset_id = new_id()
    versions = []
    for index, duration_s in enumerate(durations_s):
        job, _ = await store.create_job(JobType.INGEST if index == 0 else JobType.EDIT_SAVE, {"assetId": asset_id})
        extra = {} if index == 0 else {"baseVersion": index, "edits": [{"op": "fadeIn", "duration": 1.0}]}
        versions.append(await store.add_asset_version(asset_id, job.id, version_info(duration_s, **extra)))
    return versions


def options_for(path: str) -> dict[str, Any]:
    """The smallest valid body of a create request, less its ``assetId``."""
    return {"edits": []} if "/edit/" in path else {"format": "wav"}


@pytest.mark.parametrize("job_type", list(EDIT_PATHS))
async def test_edit_request_queues_a_job_for_the_latest_version(
    client: httpx.AsyncClient, store: JobStore, job_type: JobType
) -> None:
    versions = await make_asset(store, [60.0, 30.0])
    edits = [{"op": "trim", "start": 1, "end": 20.5}, {"op": "gain", "db": -3}, {"op": "fadeOut", "duration": 2}]
    response = await client.post(EDIT_PATHS[job_type], json={"assetId": versions[0].asset_id, "edits": edits})
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/audio/jobs/{response.json()['jobId']}"
    job = await store.get_job(response.json()["jobId"])
    assert job is not None
    assert job.type == job_type
    assert job.status is JobStatus.QUEUED
    assert response.json() == to_poll_body(job)
    assert job.payload == {
        "assetId": versions[0].asset_id,
        "version": 2,
        "edits": [
            {"op": "trim", "start": 1.0, "end": 20.5},
            {"op": "gain", "db": -3.0},
            {"op": "fadeOut", "duration": 2.0},
        ],
        # A preview plays its edits in context unless asked for the whole recording.
        **({"preview": "context"} if job_type is JobType.EDIT_PREVIEW else {}),
    }


@pytest.mark.parametrize("mode", ["context", "whole"])
async def test_a_preview_request_names_what_it_plays(client: httpx.AsyncClient, store: JobStore, mode: str) -> None:
    versions = await make_asset(store, [3600.0])
    body = {"assetId": versions[0].asset_id, "edits": [{"op": "cut", "start": 60, "end": 61}], "preview": mode}
    response = await client.post(EDIT_PATHS[JobType.EDIT_PREVIEW], json=body)
    assert response.status_code == 202, response.text
    job = await store.get_job(response.json()["jobId"])
    assert job is not None
    assert job.payload["preview"] == mode


@pytest.mark.parametrize(
    ("path", "preview", "field"),
    [
        ("/api/audio/edit/preview", "all", "preview"),
        ("/api/audio/edit/preview", 1, "preview"),
        # Saving plays nothing: the field is not one of its request's.
        ("/api/audio/edit/save", "whole", "preview"),
    ],
)
async def test_a_wrong_preview_field_is_refused(
    client: httpx.AsyncClient, store: JobStore, path: str, preview: Any, field: str
) -> None:
    versions = await make_asset(store, [3600.0])
    body = {"assetId": versions[0].asset_id, "edits": [], "preview": preview}
    response = await client.post(path, json=body)
    assert response.status_code in (400, 422), response.text
    assert field in response.text


async def test_edit_request_for_a_named_version_checks_that_versions_duration(
    client: httpx.AsyncClient, store: JobStore
) -> None:
    versions = await make_asset(store, [60.0, 30.0])
    asset_id = versions[0].asset_id
    edits = [{"op": "cut", "start": 40, "end": 50}]
    on_v1 = await client.post("/api/audio/edit/save", json={"assetId": asset_id, "version": 1, "edits": edits})
    assert on_v1.status_code == 202, on_v1.text
    job = await store.get_job(on_v1.json()["jobId"])
    assert job is not None
    assert job.payload["version"] == 1
    as_float = await client.post("/api/audio/edit/save", json={"assetId": asset_id, "version": 1.0, "edits": edits})
    assert as_float.status_code == 202, as_float.text
    on_latest = await client.post("/api/audio/edit/save", json={"assetId": asset_id, "edits": edits})
    error = assert_error(on_latest, 422, "invalid_edits", "edits[0].start")
    assert "edits[0].start" in error["message"]


INVALID_EDIT_LISTS: list[tuple[Any, str]] = [
    (
        [{"op": "trim", "start": 0, "end": 5}, {"op": "gain", "db": 1}, {"op": "cut", "start": 4, "end": 2}],
        "edits[2].end",
    ),
    ([{"op": "reverse"}], "edits[0].op"),
    ([{"op": "trim", "start": 0}], "edits[0].end"),
    ([{"op": "cut", "start": -1, "end": 3}], "edits[0].start"),
    ([{"op": "cut", "start": 1, "end": 61}], "edits[0].end"),
    ([{"op": "gain", "db": "loud"}], "edits[0].db"),
    ([{"op": "fadeIn", "duration": 1, "curve": "log"}], "edits[0].curve"),
    ([{"op": "trim", "start": 0, "end": 10}, {"op": "fadeOut", "duration": 11}], "edits[1].duration"),
    (["trim"], "edits[0]"),
    ({"op": "trim"}, "edits"),
]


async def test_invalid_edit_lists_are_422_naming_the_item(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0])
    for edits, field in INVALID_EDIT_LISTS:
        for path in EDIT_PATHS.values():
            response = await client.post(path, json={"assetId": versions[0].asset_id, "edits": edits})
            error = assert_error(response, 422, "invalid_edits", field)
            assert field in error["message"]
    assert await store.list_jobs(job_type=JobType.EDIT_PREVIEW) == []
    assert await store.list_jobs(job_type=JobType.EDIT_SAVE) == []


async def test_non_finite_numbers_are_refused(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0])
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        body = f'{{"assetId": "{versions[0].asset_id}", "edits": [{{"op": "gain", "db": {literal}}}]}}'
        response = await client.post(
            "/api/audio/edit/preview", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), response.text
        assert_error(response, response.status_code, "invalid_json" if response.status_code == 400 else "invalid_edits")


async def test_unknown_asset_is_404(client: httpx.AsyncClient) -> None:
    for path in CREATE_PATHS:
        for asset_id in (new_id(), "not-an-id", "../../etc"):
            response = await client.post(path, json={**options_for(path), "assetId": asset_id})
            assert_error(response, 404, "not_found")


async def test_unknown_version_is_422(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0, 30.0])
    for path in CREATE_PATHS:
        body = {**options_for(path), "assetId": versions[0].asset_id}
        assert_error(await client.post(path, json={**body, "version": 3}), 422, "unknown_version", "version")
        for bad_version in (0, -1, 1.5, "1", True):
            response = await client.post(path, json={**body, "version": bad_version})
            assert_error(response, 422, "invalid_request", "version")


async def test_bad_bodies(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0])
    for path in CREATE_PATHS:
        await check_bad_bodies(client, path, versions[0].asset_id)
    assert await store.list_jobs() == [await store.get_job(versions[0].job_id)]


async def check_bad_bodies(client: httpx.AsyncClient, path: str, asset_id: str) -> None:
    json_headers = {"Content-Type": "application/json"}
    assert_error(await client.post(path, content=b'{"assetId": ', headers=json_headers), 400, "invalid_json")
    assert_error(await client.post(path, content=b"\xff\xfe", headers=json_headers), 400, "invalid_json")
    assert_error(await client.post(path, content=b"[1, 2]", headers=json_headers), 400, "invalid_json")
    assert_error(await client.post(path, content=b"", headers=json_headers), 400, "invalid_json")
    assert_error(await client.post(path, content=b"[" * 100_000, headers=json_headers), 400, "invalid_json")
    form = await client.post(path, data={"assetId": asset_id})
    assert_error(form, 415, "unsupported_media_type")
    assert_error(await client.post(path, content=b"{}"), 415, "unsupported_media_type")
    huge = b'{"assetId": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert_error(await client.post(path, content=huge, headers=json_headers), 413, "payload_too_large")
    options = options_for(path)
    assert_error(await client.post(path, json=options), 422, "invalid_request", "assetId")
    extra = {"assetId": asset_id, **options, "priority": 1}
    assert_error(await client.post(path, json=extra), 422, "invalid_request", "priority")
    assert_error(await client.post(path, json={"assetId": 7}), 422, "invalid_request")
    assert_error(await client.post(path, params={"async": "1"}, json={"assetId": asset_id}), 400, "unknown_parameter")


async def test_huge_body_without_content_length_is_413(store: JobStore) -> None:
    from tests.web.conftest import in_process_client

    versions = await make_asset(store, [60.0])

    async def stream() -> Any:
        yield b'{"assetId": "' + versions[0].asset_id.encode() + b'", "edits": ['
        for _ in range(200):
            yield b'{"op": "gain", "db": 1.0},' * 400
        yield b'{"op": "gain", "db": 1.0}]}'

    async with in_process_client() as asgi_client:
        response = await asgi_client.post(
            "/api/audio/edit/preview", content=stream(), headers={"Content-Type": "application/json"}
        )
    assert_error(response, 413, "payload_too_large")


async def test_idempotency_key_returns_the_first_job(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0])
    for path in CREATE_PATHS:
        body: dict[str, Any] = {"assetId": versions[0].asset_id}
        body |= {"edits": [{"op": "gain", "db": 2}]} if "/edit/" in path else {"format": "mp3", "preset": "podcast"}
        first = await client.post(path, json=body, headers={"Idempotency-Key": "k-1"})
        again = await client.post(path, json=body, headers={"Idempotency-Key": "k-1"})
        without_key = await client.post(path, json=body)
        assert (first.status_code, again.status_code, without_key.status_code) == (202, 200, 202), path
        assert again.json()["jobId"] == first.json()["jobId"]
        assert without_key.json()["jobId"] != first.json()["jobId"]
        assert len(await store.list_jobs(job_type=first.json()["type"])) == 2


VALID_RENDER_OPTIONS: list[dict[str, Any]] = [
    {"format": "mp3", "preset": "podcast"},
    {"format": "mp3", "preset": "audiobook-acx", "tags": {"title": "Chapter 1", "artist": "A. Reader"}},
    {"format": "opus", "bitrate": 64, "targets": {"integratedLufs": -18, "channels": 1}},
    {"format": "flac", "preset": None, "bitrate": None},
    {"format": "m4a", "bitrate": 96, "targets": {"sampleRate": 44100, "truePeakDb": -1.5}},
    {"format": "wav"},
]
INVALID_RENDER_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({}, "format"),
    ({"format": "ogg"}, "format"),
    ({"format": "wav", "bitrate": 128}, "bitrate"),
    ({"format": "mp3", "bitrate": 100}, "bitrate"),
    ({"format": "flac", "preset": "audiobook-acx"}, "format"),
    ({"format": "mp3", "preset": "radio"}, "preset"),
    ({"format": "mp3", "tags": {"genre": "x"}}, "tags.genre"),
    ({"format": "mp3", "targets": {"integratedLufs": 3}}, "targets.integratedLufs"),
    ({"format": "opus", "targets": {"sampleRate": 44100}}, "targets.sampleRate"),
]


async def test_render_request_queues_a_render(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0, 30.0])
    for options in VALID_RENDER_OPTIONS:
        response = await client.post("/api/render", json={"assetId": versions[0].asset_id, **options})
        assert response.status_code == 202, (options, response.text)
        job = await store.get_job(response.json()["jobId"])
        assert job is not None
        assert job.type == JobType.RENDER
        assert response.json() == to_poll_body(job)
        expected = render_options_to_json(parse_render_options(options))
        assert job.payload == {"assetId": versions[0].asset_id, "version": 2, **expected}


async def test_invalid_render_options_are_422_naming_the_field(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0])
    for options, field in INVALID_RENDER_OPTIONS:
        response = await client.post("/api/render", json={"assetId": versions[0].asset_id, **options})
        assert_error(response, 422, "invalid_render_options", field)
    assert await store.list_jobs(job_type=JobType.RENDER) == []


async def test_asset_lists_its_versions(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0, 30.0])
    response = await client.get(f"/api/audio/assets/{versions[0].asset_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["assetId"] == versions[0].asset_id
    assert body["title"] == "Interview"
    assert body["latestVersion"] == 2
    assert [version["version"] for version in body["versions"]] == [1, 2]
    first, second = body["versions"]
    assert first["jobId"] == versions[0].job_id
    assert first["createdAt"] == iso_utc(versions[0].created_at)
    assert first["durationSec"] == 60.0
    assert second["durationSec"] == 30.0
    assert first["sampleRate"] == 48000
    assert first["channels"] == 2
    assert first["loudness"] == LOUDNESS
    assert first["audioUrl"] == "/media/assets/x/master.flac"
    assert first["peaksUrl"] == "/media/assets/x/peaks.json"
    assert first["baseVersion"] is None
    assert second["baseVersion"] == 1
    assert second["edits"] == [{"op": "fadeIn", "duration": 1.0}]


async def test_unknown_asset_is_404_on_the_asset_route(client: httpx.AsyncClient) -> None:
    for asset_id in (new_id(), "abc", "A" * 32, "%2e%2e"):
        assert_error(await client.get(f"/api/audio/assets/{asset_id}"), 404, "not_found")
    assert_error(await client.get(f"/api/audio/assets/{new_id()}", params={"v": "2"}), 400, "unknown_parameter")


async def test_render_presets_answer_what_the_render_route_accepts(client: httpx.AsyncClient, store: JobStore) -> None:
    response = await client.get("/api/render/presets")
    assert response.status_code == 200
    catalogue = response.json()
    presets = {preset["name"]: preset for preset in catalogue["presets"]}
    formats = {entry["name"]: entry for entry in catalogue["formats"]}
    assert presets["podcast"]["targets"]["integratedLufs"] == -16.0
    assert presets["podcast"]["targets"]["truePeakDb"] == -1.0
    assert (presets["audiobook-acx"]["format"], presets["audiobook-acx"]["bitrate"]) == ("mp3", 192)
    assert presets["audiobook-acx"]["targets"]["rmsDbMin"] == -23.0
    assert [name for name, entry in formats.items() if entry["lossless"]] == ["flac", "wav"]
    asset_id = (await make_asset(store, [60.0]))[0].asset_id

    async def render_status(**options: Any) -> int:
        return (await client.post("/api/render", json={"assetId": asset_id, **options})).status_code

    # The targets a preset needs (custom: the level and ceiling), at values its rules accept.
    target_values = {"integratedLufs": -19.0, "truePeakDb": -2.0}
    for name, preset in presets.items():
        needed = {target: target_values[target] for target in preset["requiredTargets"]}
        if needed:
            assert await render_status(preset=name, format="wav") == 422
        for format_name in formats:
            locked_out = preset["format"] is not None and format_name != preset["format"]
            status = await render_status(preset=name, format=format_name, targets=needed or None)
            assert status == (422 if locked_out else 202)
        if preset["bitrate"] is not None:
            assert await render_status(preset=name, format=preset["format"], bitrate=preset["bitrate"]) == 202
            assert await render_status(preset=name, format=preset["format"], bitrate=preset["bitrate"] - 32) == 422
    for name, entry in formats.items():
        rule = entry["bitrate"]
        if rule is None:
            assert await render_status(format=name, bitrate=128) == 422
            continue
        offered = rule["allowed"] or [rule["min"], rule["default"], rule["max"]]
        for kbps in offered:
            assert await render_status(format=name, bitrate=kbps) == 202, (name, kbps)
        assert await render_status(format=name, bitrate=rule["max"] + 1) == 422
        if rule["allowed"] is not None:
            unlisted = next(kbps for kbps in range(rule["min"], rule["max"]) if kbps not in rule["allowed"])
            assert await render_status(format=name, bitrate=unlisted) == 422
    assert_error(await client.get("/api/render/presets", params={"v": "2"}), 400, "unknown_parameter")
    refused = await client.delete("/api/render/presets")
    assert_error(refused, 405, "method_not_allowed")
    assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD"}

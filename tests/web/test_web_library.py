"""The recordings library: ``GET /api/audio/assets`` (newest first, a page at a time) and ``PATCH
/api/audio/assets/{assetId}`` (rename), over the store the worker writes versions to."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from common.ids import new_id
from common.jobs import JobStore
from tests.web.helpers import assert_error
from web.routes.ingest import MAX_TITLE_CHARS

LOUDNESS = {"integratedLufs": -16.2, "loudnessRangeLu": 4.0, "truePeakDbtp": -1.5, "rmsDb": -20.0}


def version_info(title: str, duration_s: float, size_bytes: int) -> dict[str, Any]:
    return {"title": title, "durationSec": duration_s, "loudness": LOUDNESS, "sizeBytes": size_bytes}


async def test_library_lists_newest_first_a_page_at_a_time(client: httpx.AsyncClient, store: JobStore) -> None:
    empty = await client.get("/api/audio/assets")
    assert empty.status_code == 200
    assert empty.json() == {"assets": [], "nextCursor": None}
    asset_ids = [new_id() for _ in range(5)]
    for number, asset_id in enumerate(asset_ids):
        await store.add_asset_version(asset_id, new_id(), version_info(f"Episode {number}", 60.0 + number, 1000))
        await asyncio.sleep(0.005)
    await store.add_asset_version(asset_ids[0], new_id(), version_info("Episode 0", 30.0, 500))

    seen: list[dict[str, Any]] = []
    query = "?limit=2"
    while True:
        response = await client.get(f"/api/audio/assets{query}")
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        page = response.json()
        seen += page["assets"]
        if page["nextCursor"] is None:
            break
        assert len(page["assets"]) == 2
        query = f"?limit=2&cursor={page['nextCursor']}"
    assert [entry["assetId"] for entry in seen] == asset_ids[::-1]
    oldest = seen[-1]
    assert oldest["title"] == "Episode 0"
    assert (oldest["versions"], oldest["latestVersion"], oldest["durationSec"]) == (2, 2, 30.0)
    assert (oldest["loudness"], oldest["storageBytes"]) == (LOUDNESS, 1500)
    assert oldest["createdAt"] < oldest["updatedAt"]
    assert seen[0]["versions"] == 1


async def test_library_refuses_a_bad_page_request(client: httpx.AsyncClient) -> None:
    for query in ("limit=0", "limit=101", "limit=x", "limit=%EF%BC%91"):
        assert_error(await client.get(f"/api/audio/assets?{query}"), 400, "invalid_parameter", "limit")
    for cursor in ("x", "1-" + "A" * 32, "-1-" + "a" * 32):
        assert_error(await client.get(f"/api/audio/assets?cursor={cursor}"), 400, "invalid_parameter", "cursor")
    assert_error(await client.get("/api/audio/assets?offset=2"), 400, "unknown_parameter", "offset")


async def test_rename_changes_the_library_and_the_asset(client: httpx.AsyncClient, store: JobStore) -> None:
    asset_id = new_id()
    await store.add_asset_version(asset_id, new_id(), version_info("raw take.wav", 12.0, 10))
    response = await client.patch(f"/api/audio/assets/{asset_id}", json={"title": "  Interview\n with  Ana "})
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Interview with Ana"
    assert (await client.get(f"/api/audio/assets/{asset_id}")).json()["title"] == "Interview with Ana"
    listed = (await client.get("/api/audio/assets")).json()["assets"]
    assert [(entry["assetId"], entry["title"]) for entry in listed] == [(asset_id, "Interview with Ana")]


async def test_rename_refuses_bad_titles_and_unknown_assets(client: httpx.AsyncClient, store: JobStore) -> None:
    asset_id = new_id()
    await store.add_asset_version(asset_id, new_id(), version_info("Kept", 1.0, 1))
    path = f"/api/audio/assets/{asset_id}"
    assert_error(await client.patch(path, json={"title": " \t\n"}), 422, "invalid_request", "title")
    assert_error(await client.patch(path, json={"title": 5}), 422, "invalid_request", "title")
    assert_error(await client.patch(path, json={}), 422, "invalid_request", "title")
    assert_error(await client.patch(path, json={"title": "x", "y": 1}), 422, "invalid_request", "y")
    too_long = "x" * (MAX_TITLE_CHARS + 1)
    assert_error(await client.patch(path, json={"title": too_long}), 400, "invalid_field", "title")
    assert_error(await client.patch(path, content=b"title=x"), 415, "unsupported_media_type")
    assert_error(await client.patch(f"/api/audio/assets/{new_id()}", json={"title": "x"}), 404, "not_found")
    assert_error(await client.patch("/api/audio/assets/nope", json={"title": "x"}), 404, "not_found")
    assert (await client.get(path)).json()["title"] == "Kept"

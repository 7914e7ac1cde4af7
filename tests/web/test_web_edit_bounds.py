"""``GET /api/audio/edit/operations`` serves the edit rules the edit routes enforce, and the edit list's bounds
(total gain, times, operation count) are answered 422 with the field and a message naming the limit."""

from __future__ import annotations

import httpx
import pytest

from common.edits import MAX_EDITS, MAX_MEASURING_EDITS, MAX_TIME_S, MIN_KEPT_S, OPERATIONS, parse_edit_list
from common.errors import EditListError
from common.jobs import JobStore
from tests.web.helpers import assert_error
from tests.web.test_web_edit_render import make_asset


async def test_the_served_edit_rules_are_the_ones_the_edit_routes_enforce(
    client: httpx.AsyncClient, store: JobStore
) -> None:
    response = await client.get("/api/audio/edit/operations")
    assert response.status_code == 200
    served = response.json()
    assert [operation["op"] for operation in served["operations"]] == list(OPERATIONS)
    assert served["maxEdits"] == MAX_EDITS
    asset_id = (await make_asset(store, [60.0]))[0].asset_id
    gain = next(operation for operation in served["operations"] if operation["op"] == "gain")
    db = next(field for field in gain["fields"] if field["name"] == "db")

    async def preview(edits: list[dict[str, object]]) -> httpx.Response:
        return await client.post("/api/audio/edit/preview", json={"assetId": asset_id, "edits": edits})

    assert (await preview([{"op": "gain", "db": db["max"]}])).status_code == 202
    assert_error(await preview([{"op": "gain", "db": db["max"] + 0.5}]), 422, "invalid_edits", "edits[0].db")
    assert (await preview([{"op": "gain", "db": db["min"]}])).status_code == 202
    assert_error(await client.get("/api/audio/edit/operations", params={"v": "2"}), 400, "unknown_parameter")


async def test_edit_lists_that_would_overflow_are_refused(client: httpx.AsyncClient, store: JobStore) -> None:
    asset_id = (await make_asset(store, [60.0]))[0].asset_id

    async def preview(edits: object) -> httpx.Response:
        return await client.post("/api/audio/edit/preview", json={"assetId": asset_id, "edits": edits})

    # Ten +40 dB gains once made the stored loudness Infinity.
    loud = assert_error(await preview([{"op": "gain", "db": 40}] * 10), 422, "invalid_edits", "edits")
    assert "+400 dB" in loud["message"]
    assert_error(await preview([{"op": "gain", "db": -60}] * 2), 422, "invalid_edits", "edits")
    assert_error(await preview([{"op": "cut", "start": 0, "end": 1e308}]), 422, "invalid_edits", "edits[0].end")
    assert_error(await preview([{"op": "fadeIn", "duration": 61}]), 422, "invalid_edits", "edits[0].duration")
    assert_error(await preview([{"op": "fadeIn", "duration": 1}] * (MAX_EDITS + 1)), 422, "invalid_edits", "edits")
    assert (await preview([{"op": "gain", "db": 20}, {"op": "gain", "db": 20}])).status_code == 202


def test_times_are_bounded_even_without_a_known_duration() -> None:
    with pytest.raises(EditListError) as caught:
        parse_edit_list([{"op": "trim", "start": 0, "end": MAX_TIME_S * 2}], None)

    assert caught.value.field == "edits[0].end"
    assert f"at most {MAX_TIME_S:g}" in caught.value.message


async def test_edit_lists_that_cost_more_than_a_few_passes_are_refused(
    client: httpx.AsyncClient, store: JobStore
) -> None:
    asset_id = (await make_asset(store, [60.0]))[0].asset_id

    async def preview(edits: object) -> httpx.Response:
        return await client.post("/api/audio/edit/preview", json={"assetId": asset_id, "edits": edits})

    normalize = {"op": "normalize", "targetLufs": -16}
    span_gain = {"op": "gain", "db": 1, "start": 1, "end": 2}
    # A span gain between two normalizes keeps both: each is its own measuring pass.
    alternating = [normalize, span_gain] * (MAX_MEASURING_EDITS + 1)
    refused = assert_error(await preview(alternating), 422, "invalid_edits", "edits")
    assert f"{MAX_MEASURING_EDITS + 1} measuring passes" in refused["message"]
    span_gains = [{**span_gain, "db": 0.1}] * MAX_MEASURING_EDITS
    within = [item for pair in zip([normalize] * MAX_MEASURING_EDITS, span_gains, strict=True) for item in pair]
    assert (await preview(within)).status_code == 202
    # Consecutive normalizes merge into one pass, however many there are.
    assert (await preview([normalize] * MAX_EDITS)).status_code == 202


async def test_edits_that_would_leave_no_audio_are_refused(client: httpx.AsyncClient, store: JobStore) -> None:
    asset_id = (await make_asset(store, [60.0]))[0].asset_id

    async def preview(edits: object) -> httpx.Response:
        return await client.post("/api/audio/edit/preview", json={"assetId": asset_id, "edits": edits})

    everything = assert_error(await preview([{"op": "cut", "start": 0, "end": 60}]), 422, "invalid_edits", "edits[0]")
    assert f"at least {MIN_KEPT_S:g} s must be left" in everything["message"]
    almost = [{"op": "cut", "start": 0, "end": 60 - MIN_KEPT_S / 2}]
    assert_error(await preview(almost), 422, "invalid_edits", "edits[0]")
    trimmed = [{"op": "trim", "start": 10, "end": 10 + MIN_KEPT_S / 2}]
    assert_error(await preview(trimmed), 422, "invalid_edits", "edits[0].end")
    # Each edit applies to what the ones before it left: a trim to 5 s, then a cut of those 5 s.
    assert_error(
        await preview([{"op": "trim", "start": 0, "end": 5}, {"op": "cut", "start": 0, "end": 5}]),
        422,
        "invalid_edits",
        "edits[1]",
    )
    assert (await preview([{"op": "cut", "start": 0, "end": 60 - 2 * MIN_KEPT_S}])).status_code == 202
    assert (await client.get("/api/audio/edit/operations")).json()["minKeptSec"] == MIN_KEPT_S

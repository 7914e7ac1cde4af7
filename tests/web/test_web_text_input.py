"""Text the API cannot keep is refused at the edge: a lone UTF-16 surrogate anywhere in a JSON body is a 400."""

from __future__ import annotations

import json

import httpx
import pytest

from common.jobs import JobStore
from tests.web.helpers import assert_error
from tests.web.test_web_edit_render import make_asset

LONE_SURROGATE = "\\ud800"
EDIT_PATHS = ("/api/audio/edit/preview", "/api/audio/edit/save")


def body_with(template: str, asset_id: str) -> bytes:
    """``template`` with ``ASSET`` replaced; ``SURROGATE`` becomes a JSON escape for a lone surrogate."""
    return template.replace("ASSET", asset_id).replace("SURROGATE", LONE_SURROGATE).encode()


BODIES = {
    "/api/render": [
        '{"assetId": "ASSET", "format": "wav", "tags": {"title": "SURROGATE"}}',
        '{"assetId": "ASSET", "format": "wav", "SURROGATE": 1}',
        '{"assetId": "ASSET", "format": "wav", "tags": {"SURROGATE": "x"}}',
        '{"assetId": "SURROGATE", "format": "wav"}',
    ],
    **{
        path: [
            '{"assetId": "ASSET", "edits": [{"op": "fadeIn", "duration": 1, "SURROGATE": 1}]}',
            '{"assetId": "ASSET", "edits": [], "SURROGATE": 1}',
            '{"assetId": "ASSET", "edits": [{"op": "SURROGATE"}]}',
            '{"assetId": "ASSET", "edits": [[[[{"deep": ["ok", "SURROGATE"]}]]]]}',
        ]
        for path in EDIT_PATHS
    },
}


@pytest.mark.parametrize("path", list(BODIES))
async def test_a_lone_surrogate_anywhere_in_a_json_body_is_a_400(
    client: httpx.AsyncClient, store: JobStore, path: str
) -> None:
    asset_id = (await make_asset(store, [60.0]))[0].asset_id
    for template in BODIES[path]:
        body = body_with(template, asset_id)
        assert "\ud800" in json.dumps(json.loads(body), ensure_ascii=False)
        response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "invalid_text")
    jobs = await store.list_jobs()
    assert [job.type for job in jobs] == ["ingest"]


async def test_paired_surrogates_and_other_text_still_pass(client: httpx.AsyncClient, store: JobStore) -> None:
    asset_id = (await make_asset(store, [60.0]))[0].asset_id
    body = body_with('{"assetId": "ASSET", "format": "wav", "tags": {"title": "\\ud83c\\udfa7 caf\\u00e9"}}', asset_id)
    response = await client.post("/api/render", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    job = await store.get_job(response.json()["jobId"])
    assert job is not None
    assert job.payload["tags"]["title"] == "\U0001f3a7 café"


REFUSED_IN_NAMES = ["nul\x00byte", "evil\u202egnp", "zero\u200bwidth"]


@pytest.mark.parametrize("title", REFUSED_IN_NAMES)
async def test_ingest_titles_and_render_tags_refuse_the_same_characters(
    client: httpx.AsyncClient, store: JobStore, title: str
) -> None:
    upload = await client.post(
        "/api/audio/ingest", files={"file": ("talk.wav", b"RIFF" + bytes(100))}, data={"title": title}
    )
    assert_error(upload, 400, "invalid_field", "title")
    asset_id = (await make_asset(store, [60.0]))[0].asset_id
    render = await client.post("/api/render", json={"assetId": asset_id, "format": "wav", "tags": {"title": title}})
    error = assert_error(render, 422, "invalid_render_options", "tags.title")
    assert upload.json()["error"]["message"].split("must not contain ")[1] in error["message"]
    assert [job.type for job in await store.list_jobs()] == ["ingest"]

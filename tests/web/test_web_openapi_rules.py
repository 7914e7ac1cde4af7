"""The OpenAPI document and the validators agree on every edit operation and every render option.

Values are generated from the rule tables (each bound, just outside it, the wrong type, absent, huge but finite),
put in an otherwise valid request, and judged twice: by the document's request schema and by the validator the
routes and the worker run. Rules JSON Schema cannot state (a span's end after its start) come from the same table.
And the document's paths cannot part from the route table.
"""

from __future__ import annotations

import math
from typing import Any

import jsonschema_rs
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.edits import MAX_EDITS, MAX_TOTAL_GAIN_DB, MIN_TOTAL_GAIN_DB, OPERATIONS, parse_edit_list
from common.errors import AppError, EditListError
from common.ids import new_id
from common.render_options import (
    FORMAT_RULE,
    FORMATS,
    LOSSY_FORMATS,
    PRESET_RULE,
    TAG_RULES,
    TARGET_RULES,
    RenderOptionsError,
    bitrate_rule,
    listed_bitrates,
    parse_render_options,
)
from common.rules import NumberRule
from web.openapi import build_openapi, document_paths

DOCUMENT = build_openapi(token_required=False)
ASSET_ID = new_id()
WRONG_TYPES: tuple[Any, ...] = ("1", True, [1], {"n": 1})


def request_schema(component: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{component}", "components": DOCUMENT["components"]}
    )


EDIT_REQUEST = request_schema("EditRequest")
RENDER_REQUEST = request_schema("RenderRequest")


def edge_values(rule: NumberRule) -> list[Any]:
    """The values worth trying against ``rule``: its bounds, just past them, its choices, wrong types, absent."""
    values: list[Any] = [rule.minimum, rule.maximum, None, 1e308, -1e308, 2.5, *WRONG_TYPES]
    values += [math.nextafter(rule.minimum, -math.inf), math.nextafter(rule.maximum, math.inf)]
    values += [rule.minimum - 1, rule.maximum + 1, (rule.minimum + rule.maximum) / 2]
    if rule.choices:
        values += [*rule.choices, *(value for value in range(int(rule.minimum), int(rule.minimum) + 3))]
    return values


def base_value(rule: NumberRule) -> float:
    if rule.default is not None:
        return rule.default
    return rule.maximum if rule.above_minimum or rule.after else rule.minimum


def verdict(check: Any, *args: Any) -> AppError | None:
    try:
        check(*args)
    except (EditListError, RenderOptionsError) as exc:
        return exc
    return None


EDIT_CASES = [
    pytest.param(op, rule.name, value, id=f"{op}.{rule.name}={value!r}")
    for op, operation in OPERATIONS.items()
    for rule in operation.fields
    for value in edge_values(rule)
]


@pytest.mark.parametrize(("op", "name", "value"), EDIT_CASES)
def test_every_edit_field_is_judged_alike_by_the_document_and_the_validator(op: str, name: str, value: Any) -> None:
    operation = OPERATIONS[op]
    item: dict[str, Any] = {"op": op, **{rule.name: base_value(rule) for rule in operation.fields if rule.required}}
    item[name] = value
    if value is None:
        del item[name]
    rule = operation.field(name)
    related = [partner for partner in operation.fields if name in (partner.name, partner.after)]
    relations_hold = all(
        not isinstance(item.get(partner.name), int | float)
        or not isinstance(item.get(str(partner.after)), int | float)
        or item[partner.name] > item[str(partner.after)]
        for partner in related
        if partner.after is not None
    )

    schema_accepts = EDIT_REQUEST.is_valid({"assetId": ASSET_ID, "edits": [item]})
    refusal = verdict(parse_edit_list, [item], None)

    assert (refusal is None) == (schema_accepts and relations_hold), refusal
    if refusal is not None and schema_accepts:
        assert refusal.field in {f"edits[0].{partner.name}" for partner in related}
    elif refusal is not None:
        assert refusal.field == f"edits[0].{rule.name}"


def test_the_length_of_an_edit_list_is_judged_alike() -> None:
    fade = {"op": "fadeIn", "duration": 1}
    for count, accepted in ((MAX_EDITS, True), (MAX_EDITS + 1, False)):
        edits = [fade] * count
        assert EDIT_REQUEST.is_valid({"assetId": ASSET_ID, "edits": edits}) is accepted
        assert (verdict(parse_edit_list, edits, None) is None) is accepted


RENDER_CASES: list[Any] = []
for rule in TARGET_RULES:
    for output_format in FORMATS:
        RENDER_CASES += [
            pytest.param({"format": output_format, "targets": {rule.name: value}}, id=f"{output_format}-{rule.name}")
            for value in edge_values(rule)
        ]
for output_format in FORMATS:
    # A lossless format takes no bitrate at all: try it with the values a lossy one takes.
    rule = bitrate_rule(output_format if output_format in LOSSY_FORMATS else LOSSY_FORMATS[0])
    values = [*edge_values(rule), *(listed_bitrates(output_format) or ()), 130, 0]
    RENDER_CASES += [
        pytest.param({"format": output_format, "bitrate": value}, id=f"{output_format}-bitrate={value!r}")
        for value in values
    ]
for choice_rule in (FORMAT_RULE, PRESET_RULE):
    for value in (*choice_rule.choices, "ogg", None, *WRONG_TYPES):
        for output_format in FORMATS:
            request = {"format": output_format, choice_rule.name: value}
            RENDER_CASES.append(pytest.param(request, id=f"{output_format}-{choice_rule.name}={value!r}"))
for tag in TAG_RULES:
    for text in ("", "x" * tag.max_chars, "x" * (tag.max_chars + 1), None, 5, ["x"]):
        RENDER_CASES.append(pytest.param({"format": "mp3", "tags": {tag.name: text}}, id=f"tags.{tag.name}"))
for container in ("tags", "targets"):
    for value in ({}, None, "x", [], {"unknown": 1}):
        RENDER_CASES.append(pytest.param({"format": "mp3", container: value}, id=f"{container}={value!r}"))


@pytest.mark.parametrize("options", RENDER_CASES)
def test_every_render_option_is_judged_alike_by_the_document_and_the_validator(options: dict[str, Any]) -> None:
    schema_accepts = RENDER_REQUEST.is_valid({"assetId": ASSET_ID, **options})
    refusal = verdict(parse_render_options, options)

    assert (refusal is None) == schema_accepts, refusal


def test_gains_are_bounded_together_with_a_clear_error() -> None:
    most = int(MAX_TOTAL_GAIN_DB // 10)
    assert verdict(parse_edit_list, [{"op": "gain", "db": 10}] * most, None) is None
    too_loud = verdict(parse_edit_list, [{"op": "gain", "db": 10}] * (most + 1), None)
    assert isinstance(too_loud, EditListError)
    assert (too_loud.code, too_loud.field) == ("invalid_edits", "edits")
    assert f"at most {MAX_TOTAL_GAIN_DB:g} dB" in too_loud.message
    # Raising and lowering are bounded apart: a cut of level never pays for a boost.
    mixed = [{"op": "gain", "db": 40}, {"op": "gain", "db": -60}, {"op": "gain", "db": 1}]
    assert isinstance(verdict(parse_edit_list, mixed, None), EditListError)
    too_quiet = [{"op": "gain", "db": MIN_TOTAL_GAIN_DB / 2}] * 3
    assert isinstance(verdict(parse_edit_list, too_quiet, None), EditListError)


def test_a_route_and_its_documentation_cannot_part() -> None:
    async def endpoint(request: Request) -> Response:
        return Response()

    route = Route("/api/example", endpoint, methods=["GET"])
    operation = {"summary": "An example", "responses": {}}

    assert document_paths([route], {"/api/example": {"get": operation}}) == {"/api/example": {"get": operation}}
    with pytest.raises(RuntimeError, match="/api/example"):
        document_paths([route], {})
    with pytest.raises(RuntimeError, match="without a route"):
        document_paths([], {"/api/example": {"get": operation}})
    with pytest.raises(RuntimeError, match="post"):
        document_paths([route], {"/api/example": {"get": operation, "post": operation}})

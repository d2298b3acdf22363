"""The OpenAPI document is enough to use the API: every operation says what it does, who may call it and
which problems it answers with, and every body has a real example that fits its own schema.

When this fails after adding a route: write the handler's docstring (what it does, its rules, the problem
codes it answers with, in backticks), then run `python -m tests.capture_examples` with a call of the new
route added to its walk, so the route's examples are captured from a real call.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import msgspec
import pytest
from litestar import Response
from litestar.enums import RequestEncodingType
from litestar.response import Stream

from api_schemas.campaigns import CampaignCreate
from api_schemas.forms import TimerEvent
from backend.app import create_app
from backend.errors import CATALOGUE
from backend.openapi import TIMER_EVENT_MEANINGS, WHO_MAY_CALL, load_examples
from backend.reports import evidence
from backend.settings import Settings

METHODS = ("get", "put", "post", "patch", "delete")
_CODE = re.compile(r"(?<![\w.])([a-z_]+\.[a-z_]+)(?![\w.])")  # with backticks or without
# Statuses any route may answer for reasons the generated part of the description names (400, 401, 403 by
# role, 413 and 415 for a JSON body); the others must be explained by a code in the docstring.
_EXPLAINED_BY_DOCSTRING = (404, 409, 422, 429, 503)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("openapi")
    app = create_app(Settings(database_url=f"sqlite:///{tmp}/unused.sqlite3", data_dir=Path(tmp)))
    return app.openapi_schema.to_schema()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _docstring_part(operation: dict[str, Any]) -> str:
    return (operation.get("description") or "").split(WHO_MAY_CALL)[0].strip()


def _is_binary(media: dict[str, Any]) -> bool:
    return media.get("schema", {}).get("format") == "binary"


def test_every_operation_says_what_it_does_and_who_may_call_it(document):
    missing = [
        f"{method} {path} ({operation['operationId']})"
        for method, path, operation in _operations(document)
        if len(_docstring_part(operation)) < 20 or WHO_MAY_CALL not in operation.get("description", "")
    ]
    assert not missing, "operations without a description (write the handler's docstring):\n" + "\n".join(missing)


def test_every_problem_status_is_explained_by_a_catalogued_code(document):
    """A code named in a docstring is a real one answered with a status the operation documents, and each
    documented 404 / 409 / 422 / 429 / 503 is explained by at least one code."""
    failures = []
    for method, path, operation in _operations(document):
        statuses = {int(s) for s in operation["responses"] if s.isdigit()}
        named = [c for c in _CODE.findall(_docstring_part(operation)) if c in CATALOGUE]
        for code in named:
            if CATALOGUE[code].status not in statuses:
                failures.append(f"{method} {path}: names `{code}` ({CATALOGUE[code].status}), not documented")
        for status in sorted(statuses & set(_EXPLAINED_BY_DOCSTRING)):
            if not any(CATALOGUE[c].status == status for c in named):
                failures.append(f"{method} {path}: documents {status} but names no code with that status")
    assert not failures, "\n".join(failures)


def test_every_body_has_a_request_and_a_response_example(document):
    missing = []
    for method, path, operation in _operations(document):
        body = operation.get("requestBody", {}).get("content", {})
        missing += [
            f"{method} {path}: request {media_type}"
            for media_type, media in body.items()
            if not _is_binary(media) and not media.get("examples")
        ]
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            missing += [
                f"{method} {path}: {status} {media_type}"
                for media_type, media in response.get("content", {}).items()
                if not _is_binary(media) and not media.get("examples")
            ]
    assert not missing, "bodies without an example (run `python -m tests.capture_examples`):\n" + "\n".join(missing)


def test_every_example_fits_its_own_schema(document):
    components = {"components": document["components"]}
    checked, failures = 0, []
    for method, path, operation in _operations(document):
        bodies = [("request", operation.get("requestBody", {}).get("content", {}))]
        bodies += [(status, r.get("content", {})) for status, r in operation["responses"].items()]
        for where, content in bodies:
            for media_type, media in content.items():
                for name, example in (media.get("examples") or {}).items():
                    validator = jsonschema_rs.Draft202012Validator(
                        {**media["schema"], **components}, validate_formats=True
                    )
                    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(example["value"])]
                    checked += 1
                    if errors:
                        failures.append(f"{method} {path} {where} {media_type} {name}: {errors[:3]}")
    assert checked > 100
    assert not failures, "\n".join(failures)


def test_examples_are_of_operations_that_exist(document):
    operation_ids = {operation["operationId"] for _, _, operation in _operations(document)}
    stale = sorted(set(load_examples()) - operation_ids)
    assert not stale, f"examples of operations that are gone (run `python -m tests.capture_examples`): {stale}"


def test_a_whole_number_fits_the_typed_answers(document):
    """Answers may be integers or decimals: the schema says anyOf, so a whole number is not refused as
    matching both `integer` and `number` of a oneOf."""
    schema = {**document["components"]["schemas"]["ReportCreate"], "components": document["components"]}
    validator = jsonschema_rs.Draft202012Validator(schema)
    body = {
        "id": "01a23bb6-33a6-7501-8741-af2f065a6c34",
        "task_id": "01a23bb6-33a6-7501-8741-af2f065a6c35",
        "started_at": "2030-03-04T09:30:00+01:00",
        "ended_at": "2030-03-04T09:40:00+01:00",
        "answers": {"friendliness": 4, "answer_s": 12.5, "greeted": True, "thanked": {"na": True}},
    }
    assert validator.is_valid(body), [e.message for e in validator.iter_errors(body)]


def test_every_timer_event_has_its_meaning_documented(document):
    assert set(TIMER_EVENT_MEANINGS) == {e.value for e in TimerEvent}
    submit = next(op for _, _, op in _operations(document) if op["operationId"] == "SubmitReport")
    for event in TimerEvent:
        assert f"`{event.value}`" in submit["description"]
    for must in ('{"na": true}', '{"events": [', '{"attachment": "<sha256>"}', '"lat"', "Evidence flags"):
        assert must in submit["description"]


def test_every_evidence_flag_is_documented_with_its_threshold(document):
    """Each flag code the evidence checks raise is explained where a user meets flags, with the thresholds
    the checks use (read from backend/reports/evidence.py and the campaign's default)."""
    source = Path(evidence.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'code="([a-z_]+\.[a-z_]+)"', source))
    assert len(codes) >= 7
    gps_default = next(f.default for f in msgspec.structs.fields(CampaignCreate) if f.name == "gps_limit_m")
    thresholds = (
        f"{evidence.MIN_VISIT_S} s",
        f"{evidence.MIN_TIME_TO_ANSWER_S:g} s",
        f"{evidence.MIN_CALL_AFTER_ANSWER_S} s",
        f"at least {evidence.MIN_COMPARABLE_ANSWERS}",
        f"default {gps_default} m",
    )
    for operation_id in ("SubmitReport", "GetReport", "GetReviewQueue"):
        description = next(op for _, _, op in _operations(document) if op["operationId"] == operation_id)["description"]
        assert not [c for c in codes if f"`{c}`" not in description], operation_id
        assert not [t for t in thresholds if t not in description], operation_id


def test_the_rules_are_described_where_a_user_meets_them(document):
    """Scoring where forms are made and scores read, probe spreading where waves are planned and generated."""
    by_id = {op["operationId"]: op["description"] for _, _, op in _operations(document)}
    scoring = ("**Item**", "`weight`", "**rating**", "**NPS**", "**band**", "**Bonus**", "**Critical**")
    for operation_id in ("PreviewScore", "GetReportScore", "CreateForm", "SaveFormDraft"):
        assert not [m for m in scoring if m not in by_id[operation_id]], operation_id
    spread = ("`probes_per_slot`", "distinct dates", "`location_is`", "`wave.past`", "`already_over`")
    for operation_id in ("CreateCampaign", "CreateWave", "GenerateWaveTasks"):
        assert not [m for m in spread if m not in by_id[operation_id]], operation_id


async def test_the_served_document_is_the_described_one(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/unused.sqlite3", data_dir=tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        served = (await client.get("/schema/openapi.json")).json()
    campaign = served["paths"]["/campaigns"]["post"]
    assert "published form version" in campaign["description"]
    assert campaign["requestBody"]["content"]["application/json"]["examples"]
    coverage = served["paths"]["/campaigns/{campaign_id}/waves/{wave_id}/coverage"]["get"]
    for state in ("`done`", "`due`", "`unanswered`", "`missing`"):
        assert state in coverage["description"]


def _handlers(app: Any) -> dict[str, Any]:
    return {
        handler.operation_id: handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(getattr(handler, "operation_id", None), str)
    }


def _decoded_type(annotation: Any) -> Any:
    """The Struct a JSON body decodes into (Response[X] → X), or None for bytes, streams and no body."""
    if typing.get_origin(annotation) is Response:
        annotation = typing.get_args(annotation)[0]
    return None if annotation in (None, type(None), bytes, Stream) else annotation


def test_every_json_example_decodes_into_the_handlers_own_types(tmp_path):
    """Stricter than the schema: the request examples decode as the server decodes them (unknown fields
    refused, constraints checked), and the response examples into what the handler returns."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/unused.sqlite3", data_dir=tmp_path))
    handlers = _handlers(app)
    checked, failures = 0, []
    for operation_id, captured in load_examples().items():
        handler = handlers[operation_id]
        data = handler.parsed_data_field
        targets = []
        if data is not None and getattr(data.kwarg_definition, "media_type", "application/json") in (
            "application/json",
            RequestEncodingType.JSON,
        ):
            targets += [("request", data.annotation, e) for e in captured.get("request", [])]
        returned = _decoded_type(handler.parsed_fn_signature.return_type.annotation)
        if returned is not None:
            targets += [(status, returned, e) for status, es in captured["responses"].items() for e in es]
        for where, annotation, example in targets:
            checked += 1
            try:
                msgspec.json.decode(msgspec.json.encode(example["value"]), type=annotation)
            except msgspec.ValidationError as exc:
                failures.append(f"{operation_id} {where} {example['summary']!r}: {exc}")
    assert checked > 100
    assert not failures, "\n".join(failures)

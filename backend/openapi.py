"""The OpenAPI document: the problem responses each route can return, operation descriptions, real examples."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.base import BaseSchemaObject

from api_schemas.campaigns import CampaignCreate
from api_schemas.common import Problem
from backend.errors import PROBLEM_JSON

_DESCRIPTIONS = {
    400: "Malformed or invalid request (problem+json names each field).",
    401: "Not authenticated, or the token is invalid or expired.",
    403: "The caller's role may not do this.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state.",
    413: "Request body too large.",
    415: "The body is not sent as application/json.",
    422: "Semantically invalid input (problem+json names each field).",
    429: "Too many attempts; retry after the Retry-After header.",
    503: "The server is busy; retry after the Retry-After header.",
}


def problems(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """Problem responses for a route: the given statuses plus those every guarded route may return."""
    codes = set(statuses) | {400} | (set() if public else {401, 403})
    return {
        # No generated examples: they are random (a Problem with status 8793) and change the document per process.
        code: ResponseSpec(
            data_container=Problem, description=_DESCRIPTIONS[code], media_type=PROBLEM_JSON, generate_examples=False
        )
        for code in sorted(codes)
    }


def document_json_bodies(route_handlers: Any) -> None:
    """Every route that takes a JSON body may answer 413 and 415 (backend.request_body); say so in one place
    rather than in each route's `problems(...)`."""
    for handler in route_handlers:
        data = handler.parsed_data_field
        media = getattr(getattr(data, "kwarg_definition", None), "media_type", None)
        if data is None or getattr(media, "value", media) not in (None, "application/json"):
            continue
        handler.responses = {**(handler.responses or {}), **problems(413, 415, public=True)}


# ---------------------------------------------------------------- operation descriptions and examples
#
# Every operation's description is its handler's docstring (what it does, its rules, the problem codes
# it answers with) followed by who may call it (from the route's own `opt` roles, so it cannot disagree
# with the guard), the problem codes every route of its kind may answer, and, for the operations where
# a user meets them, the formats and rules they need (answer shapes, scoring, coverage, evidence).
# Examples are real: `python -m tests.capture_examples` drives a seeded app and records one request and
# response per operation into openapi_examples.json. tests/api/test_openapi_docs.py holds both to it.

EXAMPLES_FILE = Path(__file__).with_name("openapi_examples.json")
WHO_MAY_CALL = "**Who may call it:**"

TIMER_EVENT_MEANINGS: dict[str, str] = {
    "dialled": "the shopper dialled (first ring); always the first event, once",
    "menu_left": "the phone menu (IVR) was left and the line started ringing for a person; at most once, "
    "before `answered`",
    "answered": "a person answered; at most once",
    "hold_on": "the shopper was put on hold (only after `answered`; holds alternate on, off, on…)",
    "hold_off": "the hold ended",
    "transferred": "the call was transferred to someone else (only after `answered`)",
    "ended": "the call ended (the last event; a hold still on lasts until here)",
    "gave_up": "the shopper hung up because nobody answered (the last event; only when nobody answered)",
}


def _answer_formats() -> str:
    events = "\n".join(f"  - `{name}`: {meaning}" for name, meaning in TIMER_EVENT_MEANINGS.items())
    return f"""### Answer formats

`answers` maps each question key to its answer. A missing key means unanswered; `null` is not an answer
(leave the key out). An answer to a hidden question is refused (`answer.hidden`).

| question type | answer |
| --- | --- |
| `yes_no` | `true` / `false` |
| `single_choice` | the `value` of one choice, e.g. `"friendly"` |
| `multiple_choice` | a list of distinct choice values; `[]` means "none of them" and counts as answered |
| `rating`, `nps` | an integer in [min, max] (nps: 0–10) |
| `integer` | an integer within the optional min/max |
| `decimal`, `duration` | a number within the optional min/max; a duration is in seconds |
| `timestamp` | an ISO-8601 date-time WITH a UTC offset, e.g. `"2030-03-04T09:30:00+01:00"` |
| `timer_sequence` | `{{"events": [{{"event": "dialled", "at": "2030-03-04T09:30:00+01:00"}}, ...]}}` |
| `text` | a string of at most the question's `max_length` characters |
| `photo`, `file` | `{{"attachment": "<sha256>"}}`: upload the bytes first (POST /attachments), answer with the sha256 |
| `gps` | `{{"lat": -90..90, "lon": -180..180, "accuracy_m": 12}}` (`accuracy_m` optional) |
| `note`, `calculate` | no answer (display only / computed) |
| any with `na_allowed` | `{{"na": true}}`: not applicable; it satisfies `required`, and is left out of the score |

Timer events (each `at` is an ISO-8601 date-time with a UTC offset; times never go back; exactly one of
`ended` / `gave_up` ends the list). An unknown event is 422 naming the accepted ones:
{events}

A call nobody answered within the question's `give_up_s` is censored at `give_up_s`: its time to answer
is `give_up_s` (never 0, never dropped). `clock_start` says whether time to answer counts from `dialled`
(ring) or from `menu_left` (menu). Each problem in an answer is named `answers.<key>` with a reason code
such as `answer.required`, `answer.wrong_type`, `answer.out_of_range`, `answer.unknown_choice`,
`answer.bad_timer`, `answer.na_not_allowed`, `answer.hidden`, all inside 422 `report.invalid`."""


SCORING = """### Scoring (docs/scoring.md)

- **Item** = points earned / points possible, earned clamped to [0, possible]: a yes/no earns
  `points_yes`/`points_no`; a choice its `points` (a multiple choice the sum of those chosen); a
  **rating** `points × (answer − min) / (max − min)`; an **NPS** `points × answer / 10`; numbers,
  durations and timers earn the points of the **band** [min, max) their value falls in.
- **Left out** (neither earned nor possible): N/A answers, hidden questions, unanswered optional
  questions, questions with nothing to earn (text, photo, note…). An unanswered required shown question
  earns 0.
- **Sections** are the weighted mean of their items and sub-sections (`weight`, default 1); the report is
  the weighted mean of its top sections, on 0–100. Each item's `contribution` is shown; they add up to
  the score.
- **Bonus** items add to what is earned only; the total is capped at 100.
- **Critical** items answered "fail" (`fail_on`, a choice's `fail`, a rating below `fail_below`) mark the
  report `failed`: `calculated` keeps the score, `final` is 0.
- A report is scored under the form version it answers; the result is stored with each revision."""


COVERAGE = """### Coverage grid

One row per location × channel, one cell per slot (`<day type>:<daypart>`, e.g. `weekday:evening`), each
probe counted once whatever its attempts (a call retried after nobody answered is one probe):
- `planned`: probes generated for the slot;
- `done`: a report is in (admins and coordinators: submitted, returned or approved; managers: approved
  only);
- `due`: not done yet and still possible: a window not yet ended, or a scheduled retry of an unanswered
  call (managers: every probe not approved, until the wave is over);
- `unanswered`: a call whose every attempt reached nobody and that is not called again (no slot left in the
  wave, or the campaign's `call_rules` attempts used up);
- `missing`: not done and no longer possible (window passed, task expired or cancelled; managers: not
  approved when the wave is over).
A probe's state is the best of its attempts: done, then due, then unanswered, then missing. A manager's
grid never shows a visit or call before it is approved (mystery shopping is blind)."""


PROBE_SPREAD = """### How probes are spread across dates

Each location × channel × slot gets `probes_per_slot` probes. The wave's dates are read in each location's
own calendar and time zone; the probes of one slot go to distinct dates of the slot's day type
(weekday / saturday / sunday) where the wave has enough of them, evenly spaced from an offset that is a
stable hash of location and slot, so that locations fall on different dates. A daypart whose end is at or
before its start wraps past midnight (21→8 runs into the next morning). A daypart's `location_is` ties it to
the location's opening hours: `open` (the default for visits) plans a probe only while the location is
open, `closed` only while it is closed (an out-of-hours test), `any` (the default for other channels)
ignores them; each task says how its window stands (`location_hours`). A slot with no usable date in the
wave is listed in `problems` with its reason; nothing else stops. Generating again creates only what is
missing (`existing` counts the rest). A wave that is over is refused (409 `wave.past`); one under way is
generated whole and `already_over` counts the tasks whose window had already ended."""


def _evidence_flags() -> str:
    from backend.reports import evidence as e

    gps_default = next(f.default for f in msgspec.structs.fields(CampaignCreate) if f.name == "gps_limit_m")
    return f"""### Evidence flags

Flags in `flags` (code and reason) mark what deserves a reviewer's look; they never refuse a report:
- `visit.too_short`: a visit shorter than {e.MIN_VISIT_S} s (`ended_at` − `started_at`);
- `gps.far`: a GPS answer farther from the location than the campaign's `gps_limit_m` (default {gps_default} m);
- `time.outside_window`: a timestamp answer or a timer tap outside the task's window;
- `timing.implausible`: a call answered less than {e.MIN_TIME_TO_ANSWER_S:g} s after dialling;
- `call.too_short`: a conversation shorter than {e.MIN_CALL_AFTER_ANSWER_S} s after answering;
- `photo.reused`: an attachment also in another report;
- `answers.identical`: the same answers (at least {e.MIN_COMPARABLE_ANSWERS} comparable ones: choices,
  ratings, yes/no, numbers) as this shopper's previous report for another location."""


CAMPAIGN_FORMS = """### `forms` takes form version ids

`forms` maps a channel (`visit`, `call`, …) to the id of a **published form version** (the `id` of a
FormVersion, as returned by POST /forms/{form_id}/publish or GET /forms/{form_id}/versions), not a form's
id. The version is fixed for the campaign: every task generated for that channel answers exactly that
version, and publishing a newer version of the form does not change the campaign (create a new campaign
to use it). A form id, a draft, a version of another organisation or of another channel is 422
`campaign.invalid` naming `forms.<channel>`."""


# Sections shown in the description of the operations where a user meets them.
GUIDES: dict[str, tuple[Any, ...]] = {
    "SubmitReport": (_answer_formats, _evidence_flags),
    "PreviewScore": (_answer_formats, SCORING),
    "GetReportScore": (SCORING,),
    "GetReport": (_evidence_flags,),
    "GetReviewQueue": (_evidence_flags,),
    "GetTaskForm": (_answer_formats,),
    "CreateForm": (SCORING,),
    "SaveFormDraft": (SCORING,),
    "GetWaveCoverage": (COVERAGE,),
    "GenerateWaveTasks": (PROBE_SPREAD,),
    "CreateCampaign": (CAMPAIGN_FORMS, PROBE_SPREAD),
    "CreateWave": (PROBE_SPREAD,),
}

# The problems any route of a kind may answer, named here once instead of in every docstring.
_GENERIC: dict[int, tuple[str, ...]] = {
    400: ("request.invalid", "request.unknown_parameter"),
    401: ("auth.unauthenticated", "auth.invalid_token", "auth.token_expired"),
    403: ("auth.forbidden_role",),
    413: ("request.too_large",),
    415: ("request.unsupported_media_type",),
}


def _roles_text(handler: Any) -> str:
    allowed = handler.opt.get("roles")
    if allowed == "public":
        return "anyone (no token needed)."
    return ", ".join(getattr(role, "value", str(role)) for role in allowed) + "."


def operation_description(handler: Any, operation_id: str, statuses: list[int]) -> str:
    """What the document says about one operation: its docstring, who may call it, the generic problems
    its documented statuses stand for, and the guide sections for where a user meets them."""
    doc = inspect.cleandoc(handler.fn.__doc__ or "")
    generic = [
        f"{status} `{code}`"
        for status in sorted(statuses)
        for code in _GENERIC.get(status, ())
        if status != 403 or handler.opt.get("roles") != "public"
    ]
    parts = [doc, f"{WHO_MAY_CALL} {_roles_text(handler)}"]
    if generic:
        parts.append("**Any route:** " + ", ".join(generic) + " (see the problem codes in the API description).")
    for section in GUIDES.get(operation_id, ()):
        parts.append(section() if callable(section) else section)
    return "\n\n".join(part for part in parts if part)


def load_examples() -> dict[str, Any]:
    if not EXAMPLES_FILE.exists():
        return {}
    result: dict[str, Any] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return result


def _any_of_where_numbers_overlap(schema: Any) -> None:
    """A union of int and float is generated as oneOf [integer, number]; an integer is both, so a strict
    validator would refuse every whole number. anyOf says what msgspec accepts."""
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, BaseSchemaObject):
            if isinstance(node, Schema) and node.one_of:
                types = {getattr(s, "type", None) for s in node.one_of}
                if OpenAPIType.INTEGER in types and OpenAPIType.NUMBER in types:
                    node.any_of, node.one_of = node.one_of, None
            for value in vars(node).values():
                stack.append(value)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())


@dataclass
class _CapturedExample(Example):
    """An example whose value is written out as captured: Litestar's serialiser drops every None in
    nested dicts, and a `"organisation_id": null` is part of what a client receives."""

    def to_schema(self) -> dict[str, Any]:
        return {"summary": self.summary, "value": self.value}


def _examples(captured: list[dict[str, Any]]) -> dict[str, Example | Reference]:
    return {f"example{i + 1}": _CapturedExample(summary=e["summary"], value=e["value"]) for i, e in enumerate(captured)}


def _is_bytes(media_type: str) -> bool:
    return not (media_type.startswith("text/") or "json" in media_type)


def complete(openapi: OpenAPI, handlers: dict[str, Any]) -> OpenAPI:
    """Descriptions and captured examples for every operation; anyOf for overlapping number unions."""
    examples = load_examples()
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            operation: Operation | None = getattr(path_item, method)
            if operation is None or operation.operation_id not in handlers:
                continue
            statuses = [int(code) for code in operation.responses or {} if code.isdigit()]
            operation.description = operation_description(
                handlers[operation.operation_id], operation.operation_id, statuses
            )
            captured = examples.get(operation.operation_id, {})
            body = operation.request_body
            if isinstance(body, RequestBody) and captured.get("request"):
                for media in body.content.values():
                    media.examples = _examples(captured["request"])
            for response in (operation.responses or {}).values():
                # A spreadsheet or a file is bytes: say so, rather than "a string".
                for media_type, media in (getattr(response, "content", None) or {}).items():
                    if _is_bytes(media_type) and isinstance(media.schema, Schema) and media.schema.format is None:
                        media.schema = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            for status, value in captured.get("responses", {}).items():
                documented = (operation.responses or {}).get(status)
                if isinstance(documented, OpenAPIResponse) and documented.content:
                    for media in documented.content.values():
                        media.examples = _examples(value)
    for schema in (openapi.components.schemas or {}).values():
        _any_of_where_numbers_overlap(schema)
    for path_item in (openapi.paths or {}).values():
        _any_of_where_numbers_overlap(path_item)
    return openapi


class DocumentedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, completing the document it builds (lazily, on the first /schema request:
    building it costs ~0.3 s, too much for every create_app in the tests)."""

    __slots__ = ()

    def provide_openapi(self) -> OpenAPI:
        if not self._openapi:
            handlers = {
                handler.operation_id: handler
                for route in self.app.routes
                for handler in getattr(route, "route_handlers", [])
                if isinstance(getattr(handler, "operation_id", None), str)
            }
            self._openapi = complete(self._build_openapi(), handlers)
        return self._openapi


def document_operations(application: Litestar) -> None:
    """Let the app's OpenAPI plugin complete its document (see DocumentedOpenAPIPlugin)."""
    application.plugins.get(OpenAPIPlugin).__class__ = DocumentedOpenAPIPlugin

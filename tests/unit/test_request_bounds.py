"""Every request body is bounded: each array, map and string a route decodes has a maximum length,
and every string that may be stored refuses NUL, so oversized or unstorable input is refused while
decoding, on both engines alike."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import msgspec.inspect as mi
import pytest

from api_schemas.common import Request
from backend.app import create_app
from backend.settings import Settings


def _request_types() -> list[type]:
    app = create_app(Settings(database_url="sqlite:///:memory:", data_dir=Path("/nonexistent")))
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_data_field
            if data is not None and isinstance(data.annotation, type) and issubclass(data.annotation, Request):
                found.add(data.annotation)
    return sorted(found, key=lambda t: t.__name__)


REQUEST_TYPES = _request_types()


def _unbounded(t: mi.Type, where: str, seen: set[int]) -> list[str]:
    """Every place under `t` that takes input of unbounded length, or text that may hold a NUL."""
    problems = []
    if isinstance(t, mi.StructType):
        if id(t.cls) in seen:
            return []
        seen = seen | {id(t.cls)}
        for f in t.fields:
            problems += _unbounded(f.type, f"{where}.{f.encode_name}", seen)
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        if t.max_length is None:
            problems.append(f"{where}: array without max_length")
        problems += _unbounded(t.item_type, f"{where}[]", seen)
    elif isinstance(t, mi.DictType):
        if t.max_length is None:
            problems.append(f"{where}: map without max_length")
        problems += _unbounded(t.key_type, f"{where}{{key}}", seen)
        problems += _unbounded(t.value_type, f"{where}{{}}", seen)
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            problems += _unbounded(member, where, seen)
    elif isinstance(t, mi.StrType):
        if t.max_length is None and t.pattern is None:
            problems.append(f"{where}: text without max_length")
        # A password is hashed and base64 decoded (outbox import, which names a bad one), never stored as text.
        elif (t.pattern is None or re.search(t.pattern, "a\x00b") is not None) and not where.endswith(
            ("password", ".base64")
        ):
            problems.append(f"{where}: text that may hold a NUL")
    elif isinstance(t, (mi.AnyType, mi.BytesType, mi.ByteArrayType)):
        problems.append(f"{where}: {type(t).__name__} takes anything")
    return problems


def test_the_sweep_finds_the_request_types():
    names = {t.__name__ for t in REQUEST_TYPES}
    assert {"ReportCreate", "FormCreate", "LoginRequest", "LocationCreate", "CampaignCreate"} <= names


@pytest.mark.parametrize("request_type", REQUEST_TYPES, ids=lambda t: t.__name__)
def test_every_array_map_and_text_in_a_request_is_bounded(request_type):
    assert _unbounded(mi.type_info(request_type), request_type.__name__, set()) == []


def test_an_answer_array_of_millions_is_refused_while_decoding():
    from api_schemas.reports import ReportCreate

    body = (
        b'{"id": "0190f5c4-0000-7000-8000-000000000001", "task_id": "0190f5c4-0000-7000-8000-000000000002",'
        b'"started_at": "2026-01-01T10:00:00Z", "ended_at": "2026-01-01T10:05:00Z", "answers": {"q": ['
        + b",".join([b"1"] * 100_000)
        + b"]}}"
    )
    with pytest.raises(msgspec.ValidationError, match=r"length <= 500 - at `\$.answers\[...\]`"):
        msgspec.json.decode(body, type=ReportCreate)

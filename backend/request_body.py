"""How JSON request bodies are read: JSON only, decoded straight into the route's Struct, never a 500.

Litestar reads a JSON body into plain Python objects first and converts them to the route's Struct
afterwards, whatever the Content-Type says. So a body sent as text/plain or XML was accepted, every
array in it was built in full before any `max_length` was looked at (and then copied by the
conversion), and a body nested a thousand deep raised RecursionError in the decoder: a 500. Here the
bytes are decoded once, into the declared type, so a value of the wrong type stops the decoder where
it stands and the bounds in api_schemas apply without a second copy of the input.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import Empty

from backend.errors import MalformedBody, UnsupportedMediaType

# Bytes a JSON body may have: every route's default, set on the app. Decoding needs memory several
# times the body (a 9.5 MB body of a 1.9-million-item array cost 74-116 MiB even refused), so the
# body's size is the bound that holds whatever the shape; a real request is far below it (a
# campaign over 5,000 locations is ~200 KB).
JSON_BODY_MAX = 512 * 1024
# Reports and form definitions: a report of 2,000 answers, or 100 long text answers; a form of
# hundreds of questions in several languages.
LARGE_JSON_BODY_MAX = 2 * 1024 * 1024


def is_json_media_type(content_type: str) -> bool:
    """application/json, or a structured syntax suffix such as application/merge-patch+json."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class JSONRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        content_type = self.headers.get("content-type", "")
        if not is_json_media_type(content_type):
            raise UnsupportedMediaType(
                f"This route takes application/json, not {content_type[:100] or 'a body without a Content-Type'}.",
                errors=[("body", "must be sent as application/json")],
            )
        body = await self.body()
        data_field = self.route_handler.parsed_data_field
        target: Any = data_field.annotation if data_field is not None else Any
        try:
            self._json = msgspec.json.decode(body or b"null", type=target, strict=True)
        except msgspec.ValidationError as exc:
            # The same shape Litestar gives a conversion error, so backend.errors names the field alike.
            raise ValidationException(extra=[{"message": str(exc), "key": "data", "source": "body"}]) from exc
        except msgspec.DecodeError as exc:
            raise MalformedBody("The body is not valid JSON.", errors=[("body", str(exc))]) from exc
        except RecursionError as exc:
            # Only the decoder recurses here, and only as deep as the input is nested: no form needs that.
            raise MalformedBody(
                "The body is nested too deeply.", code="request.too_deep", errors=[("body", "nested too deeply")]
            ) from exc
        return self._json

"""The values an enumerated field accepts, found from the handler's own types, for 422/400 problems.

msgspec says only "Invalid enum value 'x' - at `$.a[0].b`"; the client needs to know what would
have been right. The type is found by walking the handler's parameter (or body Struct) along that
path, so every enum and Literal in the API is covered without listing them anywhere.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def _leaves(info: msgspec.inspect.Type, steps: list[str | int]) -> list[msgspec.inspect.Type]:
    """The types at the end of `steps` from `info`; several when a union leaves it open."""
    if isinstance(info, msgspec.inspect.UnionType):
        return [leaf for member in info.types for leaf in _leaves(member, steps)]
    if isinstance(info, msgspec.inspect.Metadata):
        return _leaves(info.type, steps)
    if not steps:
        return [info]
    step, rest = steps[0], steps[1:]
    if isinstance(step, int):
        if isinstance(
            info,
            (
                msgspec.inspect.ListType,
                msgspec.inspect.SetType,
                msgspec.inspect.FrozenSetType,
                msgspec.inspect.VarTupleType,
            ),
        ):
            return _leaves(info.item_type, rest)
        return []
    if isinstance(info, msgspec.inspect.StructType):
        if step == info.tag_field and not rest:  # a tagged union's tag: each member says its own
            return [msgspec.inspect.LiteralType(values=(info.tag,))]
        for field in info.fields:
            if step in (field.encode_name, field.name):
                return _leaves(field.type, rest)
        return []
    if isinstance(info, msgspec.inspect.DictType):
        return _leaves(info.value_type, rest)
    return []


def accepted_values(annotation: Any, path: str) -> list[str] | None:
    """The accepted values of the enum or Literal at `path` (msgspec's `$.a[0].b` without `$`)."""
    try:
        root = msgspec.inspect.type_info(annotation)
    except Exception:
        return None
    steps: list[str | int] = [
        m.group(1) or int(m.group(2)) for m in _STEP.finditer(path if not path or path[0] in ".[" else f".{path}")
    ]
    values: list[str] = []
    for leaf in _leaves(root, steps):
        if isinstance(leaf, msgspec.inspect.EnumType):
            values += [str(member.value) for member in leaf.cls]
        elif isinstance(leaf, msgspec.inspect.LiteralType):
            values += [str(v) for v in leaf.values]
    return list(dict.fromkeys(values)) or None

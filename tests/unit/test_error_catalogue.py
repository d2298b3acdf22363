"""Every stable problem code the backend can answer with is in backend.errors.CATALOGUE, with the status
it is raised with, and the OpenAPI description lists them all."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from backend import errors
from backend.errors import CATALOGUE, FieldscoreError

ROOT = Path(__file__).resolve().parents[2]


def _error_classes() -> dict[str, type[FieldscoreError]]:
    import backend.app  # noqa: F401 - every domain, with the error classes it defines

    found: dict[str, type[FieldscoreError]] = {}
    pending = [FieldscoreError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def _raised() -> list[tuple[str, str, int]]:
    """(where, code, status) for every error constructed in backend/ and every problem errors.py builds."""
    classes = _error_classes()
    raised = []
    for path in (ROOT / "backend").rglob("*.py"):
        if "piccolo_migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in classes:
                code = next((kw.value for kw in node.keywords if kw.arg == "code"), None)
                if code is None:
                    raised.append((where, classes[name].code, classes[name].status))
                else:
                    assert isinstance(code, ast.Constant), f"{where}: a problem code must be written out"
                    raised.append((where, code.value, classes[name].status))
            elif name == "_problem":
                status, code = node.args[0], node.args[1]
                if isinstance(status, ast.Constant) and isinstance(code, ast.Constant):
                    raised.append((where, code.value, status.value))
    return raised


def test_every_code_raised_is_in_the_catalogue_with_its_status():
    raised = _raised()
    assert len(raised) > 50, "the backend was read"
    missing = [(where, code) for where, code, _ in raised if code not in CATALOGUE]
    assert missing == []
    wrong = [
        (where, code, status, CATALOGUE[code].status)
        for where, code, status in raised
        if CATALOGUE[code].status != status
    ]
    assert wrong == []


def test_every_error_class_has_a_catalogued_default_code():
    for cls in _error_classes().values():
        assert CATALOGUE[cls.code].status == cls.status, cls


def test_the_http_errors_litestar_raises_map_to_catalogued_codes():
    source = inspect.getsource(errors.handle_http)
    codes = [
        node.value.elts[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Tuple)
        and isinstance(node.value.elts[0], ast.Constant)
    ]
    assert codes and all(code in CATALOGUE for code in codes), codes


def test_the_openapi_description_lists_every_code(tmp_path):
    from backend.app import create_app
    from backend.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'schema.sqlite3'}", data_dir=tmp_path))
    description = app.openapi_schema.info.description or ""
    for code, entry in CATALOGUE.items():
        assert f"| `{code}` | {entry.status} |" in description

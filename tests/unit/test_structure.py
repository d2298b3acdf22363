"""The code's structure: no import cycle, and no module reaching into another's private names.

Imports are read with the standard library's ast (every `import`, at module level or inside a function:
an import deferred to dodge a cycle is still a cycle). Piccolo's `Table._meta` is its public API.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "api_schemas", "benchmarks")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "piccolo_migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports (a name imported from a package counts as its submodule
    when there is one)."""

    def known(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(filter(None, (known(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                found.update(
                    filter(
                        None,
                        [known(f"{source}.{alias.name}") if f"{source}.{alias.name}" in modules else known(source)],
                    )
                )
    # A submodule's import of its own package is how Python loads it, not a dependency.
    return {m for m in found if m != name and not name.startswith(m + ".")}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert "backend.reports.service" in graph and graph["backend.app"], "the graph was read"
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_uses_another_modules_private_names():
    modules = _modules()
    offences = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offences.append(f"{name}:{node.lineno} imports {node.module}.{alias.name}")
                    imported.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr != "_meta"
            ):
                offences.append(f"{name}:{node.lineno} uses {node.value.id}.{node.attr}")
    # The storage layer's one exception is a module of its own, checked by tests/engine.
    offences = [o for o in offences if not o.startswith("backend.db.library_internals:")]
    assert offences == []


def _imported_test_modules(source: str) -> set[str]:
    """The test modules (tests.….test_*) a file imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {n for n in names if n.startswith("tests.") and n.rsplit(".", 1)[-1].startswith("test_")}
    return found


def test_no_test_module_imports_another():
    """Shared builders live in helper modules (tests/builders.py, tests/api/routes.py, …), never in a test file."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_test_modules(path.read_text()))
        for path in (ROOT / "tests").rglob("*.py")
        if _imported_test_modules(path.read_text())
    }
    assert offenders == {}


def test_the_test_import_check_sees_both_spellings():
    assert _imported_test_modules("from tests.api.test_blind import x\nimport tests.unit.test_xlsform") == {
        "tests.api.test_blind",
        "tests.unit.test_xlsform",
    }
    assert _imported_test_modules("from tests.builders import x\nfrom tests.api import routes") == set()


def _application_offenders(check: Callable[[str], list[int]], *, home: str) -> dict[str, list[int]]:
    """The lines `check` finds in each module of backend/ and api_schemas/ except `home` (where the
    shared piece lives), by module; only modules with findings."""
    found = {
        name: check(path.read_text())
        for name, path in _modules().items()
        if name.split(".")[0] in {"backend", "api_schemas"} and name != home
    }
    return {name: lines for name, lines in found.items() if lines}


def _clock_reads(source: str) -> list[int]:
    """The lines that read the current date-time directly (`datetime.now(...)`, `dt.datetime.utcnow()`,
    `date.today()`, in any spelling of the module)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if node.func.attr in {"now", "utcnow", "today"} and owner_name in {"datetime", "date"}:
                found.append(node.lineno)
    return found


def test_the_current_time_is_read_in_one_place():
    """Time helpers have one public home (backend.moments.now, docs/architecture.md): no module of the
    application keeps its own copy of "now in UTC"."""
    assert _application_offenders(_clock_reads, home="backend.moments") == {}


def test_the_clock_check_sees_every_spelling():
    source = "a = dt.datetime.now(dt.UTC)\nb = datetime.now(UTC)\nc = date.today()\nd = moments.now()\n"
    assert _clock_reads(source) == [1, 2, 3]


def _early_returns(source: str) -> list[str]:
    """Tests that can return before checking anything: an `if` in a test function whose branch is only a
    bare `return` (a case the test does not want is `assume`d away or skipped, never passed)."""
    found = []
    for test in ast.walk(ast.parse(source)):
        if not (isinstance(test, ast.FunctionDef | ast.AsyncFunctionDef) and test.name.startswith("test_")):
            continue
        stack: list[ast.AST] = list(test.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                continue  # a helper defined inside the test returns for itself
            if isinstance(node, ast.If) and any(
                len(branch) == 1 and isinstance(branch[0], ast.Return) and branch[0].value is None
                for branch in (node.body, node.orelse)
            ):
                found.append(f"{test.name}:{node.lineno}")
            stack.extend(ast.iter_child_nodes(node))
    return found


def test_no_test_returns_early_and_passes():
    offenders = {
        str(path.relative_to(ROOT)): _early_returns(path.read_text())
        for path in (ROOT / "tests").rglob("test_*.py")
        if "node_modules" not in path.parts
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_early_return_check_sees_a_bare_return_not_a_checked_one():
    source = (
        "def test_a(x):\n    if x:\n        return\n    assert x\n"
        "def test_b(x):\n    if x:\n        with raises(E):\n            f()\n        return\n    assert x\n"
        "def test_c(x):\n    def helper():\n        if x:\n            return\n    assert helper\n"
    )
    assert _early_returns(source) == ["test_a:2"]


def _hand_paged(source: str) -> list[int]:
    """The lines that page a query by hand (`query.limit(page.limit)`) instead of through
    backend.pagination's `paged` (filters -> count -> page), where the count cannot drift from the rows."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"limit", "offset"}
        and any(
            isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == "page" for a in node.args
        )
    ]


def test_every_database_list_is_paged_by_the_one_helper():
    assert _application_offenders(_hand_paged, home="backend.pagination") == {}


def test_the_paging_check_sees_a_hand_paged_query_not_a_sliced_list():
    source = (
        "rows = await q.limit(page.limit).offset(page.offset)\nitems = rows[page.offset : page.limit]\n"
        "ids = await q.limit(data.limit)\n"
    )
    assert _hand_paged(source) == [1, 1]


def _hand_lookups(source: str) -> list[int]:
    """The lines that look one row up and raise NotFound by hand (`row = await q.first()` then
    `if row is None: raise NotFound(...)`) instead of through backend.pagination's `scoped_row`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for before, after in itertools.pairwise(body):
            if not (
                isinstance(before, ast.Assign)
                and len(before.targets) == 1
                and isinstance(before.targets[0], ast.Name)
                and any(isinstance(n, ast.Attribute) and n.attr == "first" for n in ast.walk(before.value))
            ):
                continue
            name = before.targets[0].id
            if (
                isinstance(after, ast.If)
                and isinstance(after.test, ast.Compare)
                and isinstance(after.test.left, ast.Name)
                and after.test.left.id == name
                and isinstance(after.test.ops[0], ast.Is)
                and len(after.body) == 1
                and isinstance(after.body[0], ast.Raise)
                and "NotFound" in ast.unparse(after.body[0])
            ):
                found.append(before.lineno)
    return found


def test_every_lookup_or_not_found_goes_through_the_one_helper():
    assert _application_offenders(_hand_lookups, home="backend.pagination") == {}


def test_the_lookup_check_sees_a_hand_written_lookup():
    source = (
        "async def f():\n    row = await q.where(x).first()\n    if row is None:\n        raise NotFound('no')\n"
        "async def g():\n    row = await q.first()\n    if row is None or other:\n        raise NotFound('no')\n"
    )
    assert _hand_lookups(source) == [2]

"""The engine's shape, checked from its source with the standard library's ``ast``: no import
cycle among its modules, results read and written only through ``autograder.results``, nbgrader
cell metadata read only through ``autograder.cells``, and no lab's names inside the engine."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"
ENGINE = sorted(p for p in PACKAGE.rglob("*.py") if "labs" not in p.relative_to(PACKAGE).parts)


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """Modules of the package imported when ``path`` is imported (not inside functions, not under
    ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("autograder"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("autograder"):
                    found.add(target)
                    for alias in node.names:  # `from . import cells`
                        if f"{target}.{alias.name}" in MODULES:
                            found.add(f"{target}.{alias.name}")

    visit(tree.body)
    return found


MODULES = {_module(p) for p in ENGINE}


def test_no_import_cycle():
    graph = {_module(p): {m for m in _top_level_imports(p) if m in MODULES and m != _module(p)} for p in ENGINE}
    state: dict[str, int] = {}
    cycles = []

    def walk(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == []
    assert "autograder.results" in graph["autograder.grade"]  # the check sees imports at all


def _source(path: Path) -> str:
    return path.read_text()


def test_results_layout_and_statuses_live_in_results():
    for path in ENGINE:
        if path.name == "results.py":
            continue
        text = _source(path)
        assert '/ "result.json"' not in text, f"{path.name} builds a result path itself"
        assert "build_result" not in text, path.name


def test_cell_metadata_is_read_through_cells():
    for path in ENGINE:
        if path.name == "cells.py":
            continue
        assert 'get("nbgrader"' not in _source(path), f"{path.relative_to(PACKAGE)} reads nbgrader metadata itself"


def test_no_lab_names_in_the_engine():
    words = ("dj_dw", "gradient_descent", "compute_cost", "linreg", "polyreg")
    for path in ENGINE:
        if path.name in ("bench.py", "cli.py"):
            continue  # the bench generates a Lab 1 class; the CLI's help names an example lab
        text = _source(path)
        found = [w for w in words if w in text]
        assert not found, f"{path.relative_to(PACKAGE)} speaks of {found}"

"""The house: imports point from higher stages to lower ones (no circles), the legacy oracle stands apart, and every
module and function is small enough to read in one sitting. Built from the source with `ast`, nothing imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "walkforward"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
# what the oracle may share with the fast path: the config it reads, the errors it raises, the output schema it
# writes and the stopwatch that times it (docs/architecture.md)
LEGACY_MAY_IMPORT = {"walkforward.config", "walkforward.errors", "walkforward.outputs", "walkforward.timing"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:` (annotations only: no import at run time)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            ids |= {id(n) for n in ast.walk(node)}
    return ids


def imported(name: str) -> set[str]:
    """The walkforward modules `name` imports (anywhere in it, functions included), resolved to known modules."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` packages up
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *filter(None, [base])])
            targets |= {base} | {f"{base}.{a.name}" for a in node.names}
    out = set()
    for t in targets:
        while t and t not in MODULES:
            t = t.rpartition(".")[0]
        if t and t != name and not name.startswith(t + "."):  # a package's own __init__ is no edge
            out.add(t)
    return out


GRAPH = {name: imported(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return [*stack[stack.index(v) :], v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_passes_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_the_engine_wiring_its_stages():
    assert {"walkforward.features.plan", "walkforward.execution.fit", "walkforward.portfolio.backtest"} <= GRAPH[
        "walkforward.engine"
    ]


def test_no_import_circles_in_walkforward():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH) or [])


def test_nothing_outside_legacy_imports_the_legacy_engine():
    outside = {n for n in GRAPH if not n.startswith("walkforward.legacy")}
    offenders = {n: sorted(t for t in GRAPH[n] if t.startswith("walkforward.legacy")) for n in outside}
    # the runner picks the engine by name at run time (importlib), and that is the one way in
    assert {n: t for n, t in offenders.items() if t} == {}


def test_the_legacy_engine_imports_only_what_it_may_share():
    legacy = {n for n in GRAPH if n.startswith("walkforward.legacy")}
    shared = {t for n in legacy for t in GRAPH[n] if not t.startswith("walkforward.legacy")}
    assert shared <= LEGACY_MAY_IMPORT, sorted(shared - LEGACY_MAY_IMPORT)


def test_no_module_is_over_the_size_limit():
    long = {n: lines for n, p in MODULES.items() if (lines := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_over_the_size_limit():
    long = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{name}.{node.name}"] = lines
    assert long == {}

"""The package's modules import one another without a cycle.

The graph is read from the source with ``ast``, so it holds every import as written: at module
level, inside functions (a lazy import is still a dependency, and hiding a cycle behind one is
what this test is against) and under ``if TYPE_CHECKING:`` (a record that names its view in a
type still knows it). An edge goes to each ``glmv_ui`` module an import names: the module itself,
a submodule named in ``from package import submodule``, and each package above it that is not
also above the importer (importing ``glmv_ui.nb.render`` runs ``glmv_ui/nb/__init__.py`` first;
the importer's own packages are already being imported when it runs). Imports of other
libraries are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "glmv_ui"


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


def _named(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement may load."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".")
        if not is_package:
            base.pop()
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    return [target, *(f"{target}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in modules.items():
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _named(module, is_package, node):
                pieces = name.split(".")
                for i in range(1, len(pieces) + 1):
                    prefix = ".".join(pieces[:i])
                    if prefix in modules and prefix not in own:
                        deps.add(prefix)
        graph[module] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the whole package was read
    loops = {" <-> ".join(c): {m: sorted(graph[m] & set(c)) for m in c} for c in cycles(graph)}
    assert loops == {}


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    """The reader catches the two kinds of import that hide a cycle at run time."""
    graph = import_graph()
    # Imported only inside a function (ApiHandlers._answer)...
    assert "glmv_ui.media.inflight" in graph["glmv_ui.ui.api"]
    # ...and only under TYPE_CHECKING.
    assert "glmv_ui.media.parts" in graph["glmv_ui.engines.remote"]
    # And the detector finds a cycle when there is one.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_conversation_record_knows_none_of_its_readers() -> None:
    graph = import_graph()

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for dep in graph[todo.pop()]:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    readers = {"glmv_ui.reply", "glmv_ui.prompt", "glmv_ui.session", "glmv_ui.export"}
    assert reach("glmv_ui.conversation") & readers == set()
    assert not any(m.startswith("glmv_ui.nb") for m in reach("glmv_ui.reply"))
    assert not any(m.startswith("glmv_ui.ui") for m in reach("glmv_ui.reply"))

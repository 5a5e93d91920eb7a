"""Every module of `parley` imports, and no two modules import each other at load time."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "parley"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(
    tree: ast.Module, module: str, is_package: bool, *, in_functions: bool = False
) -> set[str]:
    """Parley modules `module` imports: when it loads (its body and class bodies), plus, with
    `in_functions`, those imported inside functions on call. `if TYPE_CHECKING:` blocks never
    run and do not count."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With | ast.ClassDef) or (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and in_functions
            ):
                visit(node.body)

    visit(tree.body)
    return {name for name in found if name in MODULES and name != module}


def import_graph(*, in_functions: bool = False) -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[name] = imports_of(tree, name, is_package, in_functions=in_functions)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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
            connect(node)
    return found


def test_the_checker_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    code = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import parley.config\n"
    code += "def f():\n    import parley.cli\nimport parley.service\n"
    tree = ast.parse(code)
    assert imports_of(tree, "parley.wiring", False) == {"parley.service"}
    lazy = imports_of(tree, "parley.wiring", False, in_functions=True)
    assert lazy == {"parley.service", "parley.cli"}


def test_no_import_cycles_among_parley_modules() -> None:
    graph = import_graph()
    assert len(graph) > 50
    assert cycles(graph) == []


def test_no_cycles_hidden_in_function_level_imports() -> None:
    # An import moved into a function breaks a cycle at load time but not in the design:
    # `moderation.base` importing its own implementations was one.
    assert cycles(import_graph(in_functions=True)) == []


# Modules that run inside a foreign runtime import it: DJL Serving's `djl_python` is replaced
# here by the stand-in that tests/deploy drive the generated model.py with.
FOREIGN_RUNTIMES = {"parley.deploy.djl_entry": Path(__file__).parent / "deploy" / "standin"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name in FOREIGN_RUNTIMES:
        monkeypatch.syspath_prepend(str(FOREIGN_RUNTIMES[name]))
    importlib.import_module(name)


def test_a_server_without_retrieval_does_not_load_faiss(tmp_path: Path) -> None:
    # Faiss is a retrieval-only dependency: a deployment with retrieval off (e.g. in front of
    # a GPU engine) should not need it installed, nor pay its import.
    code = (
        "import sys\n"
        "from parley.config import Settings\n"
        "from parley.wiring import build_retrieval\n"
        f"settings = Settings(data_dir={str(tmp_path)!r}, retrieval={{'enabled': False}})\n"
        "assert build_retrieval(settings) is None\n"
        "assert 'faiss' not in sys.modules, 'faiss imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

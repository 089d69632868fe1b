"""The package's dependency rules, read from the source (ast), so that the architecture of
docs/architecture.md cannot erode silently:

* data flows one way: ``physics`` imports nothing from the rest of ``spsll`` but ``spsll.units``;
  ``physics`` has no plotting, config files, Lightning or Hydra;
* ``models`` never import the solver (``physics``), nor data generation, tracking or evaluation;
* no import cycles between modules, counting imports inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "spsll"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """Every module imported anywhere in ``name`` (top level or inside functions): spsll modules by
    their module name, third-party packages by their top-level name."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: up from the module's package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in MODULES else base)
    return {m if m.startswith("spsll") else m.split(".")[0] for m in out}


def spsll_imports(name: str) -> set[str]:
    return {m for m in imports(name) if m.startswith("spsll") and m in MODULES and m != name}


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("name", sorted(m for m in MODULES if in_package(m, "spsll.physics")))
def test_physics_depends_on_nothing_but_itself_and_units(name):
    bad = {m for m in spsll_imports(name) if not (in_package(m, "spsll.physics") or m == "spsll.units")}
    assert not bad, f"{name} imports {sorted(bad)}"
    third = imports(name) & {"matplotlib", "yaml", "omegaconf", "hydra", "pytorch_lightning", "lightning", "h5py",
                             "mlflow"}
    assert not third, f"{name} imports {sorted(third)}: physics is tensors in, tensors out"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if in_package(m, "spsll.models")))
def test_models_never_import_the_solver(name):
    forbidden = ("spsll.physics", "spsll.data.generation", "spsll.tracking", "spsll.evaluation", "spsll.studies",
                 "spsll.prediction", "spsll.training")
    bad = {m for m in spsll_imports(name) if any(in_package(m, f) for f in forbidden)}
    assert not bad, f"{name} imports {sorted(bad)}"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one module (each one an import cycle)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = {name: spsll_imports(name) for name in MODULES}
    assert strongly_connected(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []

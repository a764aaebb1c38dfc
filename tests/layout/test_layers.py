"""The package layout: every import points down the layers of docs/ARCHITECTURE.md, no
module imports itself back through others, and no module grows past 500 lines."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "hashret"

# lower number = lower layer; a module may import its own layer or any lower one
LAYERS = {
    "errors": 0, "defaults": 0, "fileio": 0, "progress": 0,
    "search": 1, "data": 1,
    "nets": 2,
    "training": 3,
    "models": 4,
    "bundle": 5, "summary": 5, "items": 5,
    "build": 6, "retriever": 6, "export": 6, "eval": 6, "applications": 6, "pictures": 6,
    "check": 6, "sources": 6, "colorize": 6,
    "serve": 7, "spark": 7,
    "cli": 8,
}
# packages whose modules are one unit each (their own internal imports are free)
PACKAGES = {"search", "data", "nets", "training", "models", "serve", "spark", "cli"}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        yield ".".join(("hashret",) + rel.parts), path


def _imports(name: str, path: Path):
    """The hashret modules ``name`` imports, at the top or inside a function."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("hashret"):
                yield target
                for alias in node.names:          # "from . import scan" names a module
                    yield f"{target}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("hashret"):
                    yield alias.name


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


MODULES = dict(_modules())


def test_every_module_has_a_layer():
    assert {_unit(m) for m in MODULES if _unit(m) not in (None, "__init__", "__main__")} \
        <= set(LAYERS) | {"datasets"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    unit = _unit(name)
    if unit not in LAYERS:
        return
    for target in _imports(name, MODULES[name]):
        other = _unit(target)
        if other in LAYERS and other != unit:
            assert LAYERS[other] <= LAYERS[unit], f"{name} imports {target} from a higher layer"


def test_no_import_cycle_between_modules():
    graph = {}
    for name, path in MODULES.items():
        graph[name] = {t for t in _imports(name, path) if t in MODULES and t != name
                       and not t.endswith("__init__")}
    # a package's __init__ is reached by importing the package name itself
    done, stack = set(), []

    def visit(n):
        if n in stack:
            cycle = stack[stack.index(n):] + [n]
            # importing a package's own __init__ from inside it is Python's normal order
            if not all(c.startswith(cycle[0].rsplit(".", 1)[0]) for c in cycle) or \
                    len({c for c in cycle}) > 2:
                pytest.fail("import cycle: " + " -> ".join(cycle))
            return
        if n in done:
            return
        stack.append(n)
        for m in graph.get(n, ()):
            visit(m)
        stack.pop()
        done.add(n)
    for n in sorted(graph):
        visit(n)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_500_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= 500, name

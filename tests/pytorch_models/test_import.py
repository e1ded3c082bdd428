import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "pytorch_models"


def test_import_does_not_pull_in_django_or_print():
    code = (
        "import sys, pytorch_models\n"
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
        "assert not bad, bad\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def imported(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that the module at `path` imports when it is
    imported (its module-level import statements): `from a.b import c` imports
    the module a.b.c when there is one, else a.b."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = parts[:-1]  # what a relative import starts from
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else ()
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [n for n in names if n in modules] or [base]
        else:
            continue
        found.update(n for n in names if n in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module name -> the package's modules it imports. A submodule's import of
    its parent packages (`pytorch_models` before `pytorch_models.data`) is not an
    edge: Python runs a package's __init__ before any of its modules."""
    modules = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {name: imported(path, set(modules)) for name, path in modules.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (first module repeated at the end), or []."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for after in sorted(graph[node]):
            if cycle := visit(after, [*path, node]):
                return cycle
        done.add(node)
        return []

    for start in sorted(graph):
        if cycle := visit(start, []):
            return cycle
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_imports_inside_the_package_run_one_way():
    graph = import_graph()
    assert graph["pytorch_models.ngcf.predictor"]  # the graph is read at all
    cycle = cycle_in(graph)
    assert not cycle, " imports ".join(cycle)

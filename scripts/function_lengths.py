"""Fail when a function in the site or the model library is longer than 80 lines.

    python -m scripts.function_lengths [--limit 80] [PATH ...]

A function that needs a scroll is doing several jobs; `make lint` runs this over
movie/ and pytorch_models/ (migrations, which Django writes, are left out).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("movie", "pytorch_models")


def long_functions(path: Path, limit: int) -> Iterator[tuple[int, str, int]]:
    """(line, qualified name, length) of each function in `path` over `limit` lines,
    counted from its first decorator to its last line."""
    tree = ast.parse(path.read_text(), filename=str(path))

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[int, str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                length = child.end_lineno - start + 1
                if length > limit:
                    yield start, prefix + child.name, length
                yield from visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")

    yield from visit(tree, "")


def python_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        yield from (f for f in files if "migrations" not in f.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.paths or [ROOT / name for name in DEFAULT_PATHS]
    found = [
        (path, line, name, length)
        for path in python_files(paths)
        for line, name, length in long_functions(path, args.limit)
    ]
    for path, line, name, length in found:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}:{line}: {name} is {length} lines (limit {args.limit})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

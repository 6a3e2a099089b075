"""Print the import graph's health: upward imports, imports inside functions, circles, complexity.

Run from the repository root: ``python tools/import_report.py [TREE]`` (TREE: another checkout). Read-only; it parses the source
and imports nothing of the project.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
PACKAGES = ("lfr_governance", "watchlists", "deployments", "matching", "tools")
APPS = ("watchlists", "deployments", "matching")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    current = module_name(path)
    is_package = path.name == "__init__.py"
    found = []

    def visit(node, in_function, type_checking):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            guarded = type_checking
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                guarded = True
            if isinstance(child, ast.Import) and not type_checking:
                for alias in child.names:
                    found.append((alias.name, in_function))
            elif isinstance(child, ast.ImportFrom) and not type_checking:
                target = resolve(current, is_package, child)
                for alias in child.names:
                    found.append((f"{target}.{alias.name}" if alias.name != "*" else target, in_function))
            visit(child, inner, guarded)

    visit(tree, False, False)
    return current, found


def complexity(path: Path):
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            score = 1
            for sub in ast.walk(node):
                if isinstance(sub, (ast.If, ast.For, ast.While, ast.IfExp, ast.ExceptHandler, ast.With, ast.AsyncFor, ast.comprehension)):
                    score += 1
                elif isinstance(sub, ast.BoolOp):
                    score += len(sub.values) - 1
                elif isinstance(sub, ast.match_case):
                    score += 1
            out.append((score, f"{module_name(path)}:{node.name}"))
    return out


def main() -> int:
    files = [p for pkg in PACKAGES if (ROOT / pkg).exists() for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(p) for p in files}
    edges: dict[str, set[str]] = defaultdict(set)
    upward, in_function, in_function_all, scores = [], 0, 0, []
    for path in files:
        current, found = imports_of(path)
        scores += complexity(path)
        for target, inside in found:
            in_function_all += inside
            top = target.split(".")[0]
            if top not in PACKAGES:
                continue
            in_function += inside
            # the longest module prefix of the imported name
            parts = target.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts:
                edges[current].add(".".join(parts))
            # The engine is no app (it imports no Django): the project's face runtime may wrap it.
            if current.startswith("lfr_governance") and top in APPS and not target.startswith("matching.engine"):
                upward.append(f"{current} -> {target}")
    # circles: strongly connected components of more than one module (Tarjan)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(modules):
        if v not in index:
            strong(v)
    print(f"upward imports (project package -> an app): {len(upward)}")
    for line in sorted(upward):
        print(f"  {line}")
    print(f"imports inside functions: {in_function_all} in all, {in_function} of the project's own modules")
    print(f"circles (groups of modules that import each other): {len(sccs)}")
    for comp in sccs:
        print(f"  {' <-> '.join(comp)}")
    scores.sort(reverse=True)
    print("largest functions by cyclomatic complexity:")
    for score, name in scores[:8]:
        print(f"  {score:3d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

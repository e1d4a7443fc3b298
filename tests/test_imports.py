"""The import graph of the packages: no cycle between modules, and no arrow from a lower package to a higher one
(scenes → env → curriculum → agent → tools, lowest first). Read from the source with ``ast``, so imports inside
functions count too (a lazy import hides a cycle, it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("scenes", "env", "curriculum", "agent", "tools")
"""Lowest first: a package may import its own modules and those of the packages before it, never after."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules that ``name`` imports (``from pkg import mod`` counts as ``pkg.mod`` when that is a
    module, else as ``pkg``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # `import env.tasks.base as b` → env.tasks.base; attributes → their module
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def test_graph_sees_the_known_imports() -> None:
    """The parser itself: it must find imports that are there, or the two checks below pass on nothing."""
    g = _graph()
    assert "env.infant_env" in g["env.batched"]
    assert "agent.vec_env" in g["agent.rollout"]
    assert "env" in g["env.batched"]  # `from env import task_of` inside a function
    assert len(g) > 50


def test_no_import_from_a_higher_package() -> None:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    bad = [f"{src} imports {dst}" for src, dsts in _graph().items() for dst in sorted(dsts)
           if rank[dst.split(".")[0]] > rank[src.split(".")[0]]]
    assert not bad, (f"lower packages must not import higher ones ({' → '.join(LAYERS)}, lowest first): {bad}; "
                     "move the shared code down to the lowest package that needs it")


def test_no_import_cycle() -> None:
    g = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(g[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(g):
        if start not in state:
            visit(start, [start])
    assert not cycles, f"import cycles (lazy imports included): {[' → '.join(c) for c in cycles]}"


def test_env_is_plain_gymnasium() -> None:
    """env/ knows no learner: stable-baselines3 and sb3-contrib live in agent/."""
    found = [str(p.relative_to(ROOT)) for p in (ROOT / "env").rglob("*.py")
             if "stable_baselines3" in p.read_text() or "sb3_contrib" in p.read_text()]
    assert not found, f"{found} mention stable_baselines3/sb3_contrib; the SB3 side belongs in agent/"

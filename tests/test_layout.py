"""The stage layout: one package per pipeline stage, no Python import cycle
(function-local imports included: they hide cycles, they do not remove
them), and C headers that compile on their own."""
from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("generator", "reference")
STAGES = ("model", "ingest", "extract", "plan", "render", "runner", "verdict", "run",
          "report", "abi", "diff", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            if "tests" in p.relative_to(ROOT).parts:
                continue
            out[_module_name(p)] = p
    return out


def _under_type_checking(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (at any depth of its code)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        is_pkg = path.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(tree):
            if _under_type_checking(node, parents):
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here[:len(here) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in mods else base)
            for t in targets:
                if t in mods and t != name:
                    graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a list of modules, [] when there is none.  An edge
    from a package to its own submodule (an __init__ re-exporting) is not a
    dependency of the package on itself and is skipped."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in graph}
    stack: list[str] = []

    def edges(m):
        return [t for t in sorted(graph[m]) if not t.startswith(m + ".")]

    def visit(m) -> list[str]:
        colour[m] = GREY
        stack.append(m)
        for t in edges(m):
            if colour[t] == GREY:
                return stack[stack.index(t):] + [t]
            if colour[t] == WHITE:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        colour[m] = BLACK
        return []

    for m in sorted(graph):
        if colour[m] == WHITE:
            found = visit(m)
            if found:
                return found
    return []


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_sees_a_function_local_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"p": {"p.x"}, "p.x": {"q"}, "q": set()}) == []


def test_every_stage_is_a_package():
    for stage in STAGES:
        assert (ROOT / "generator" / stage / "__init__.py").is_file(), stage
    loose = sorted(p.name for p in (ROOT / "generator").glob("*.py")
                   if p.name not in ("__init__.py", "errors.py", "paths.py", "cparse.py"))
    assert loose == [], f"modules outside a stage package: {loose}"


HEADERS = ("kconform_steps.h", "kconform_types.h", "kconform_runtime.h",
           "kconform_vcpu.h", "guest/kconform_guest_abi.h")


@pytest.mark.parametrize("header", HEADERS)
def test_c_header_is_self_contained(tmp_path, header):
    cc = shutil.which("aarch64-linux-gnu-gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    # the guest image header is made at build time (generator.render.guest);
    # a one-byte stand-in here, so the VMM header can be compiled alone
    (tmp_path / "kconform_guest_blob.h").write_text(
        "static const unsigned char kc_guest_image[1] = { 0 };\n")
    src = tmp_path / "only.c"
    src.write_text(f'#include "{header}"\n')
    proc = subprocess.run([cc, "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-function",
                           "-I", str(ROOT / "templates"), "-I", str(ROOT / "templates" / "guest"),
                           "-I", str(tmp_path),
                           str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

"""Structure checks run by `make lint`:

1. No Rust source file under shared/ or functions/ (code, tests, benches) longer than
   MAX_LINES: a file does one job.
2. No import cycle between sibling modules of any crate in the workspace: if `a::x` uses
   `a::y`, then nothing under `a::y` may use `a::x`. References between a module and its own
   ancestors (a child using its parent's types, a parent re-exporting a child) are not
   cycles; `parse` using `rules` while `rules` uses `parse` is.

usage: check-structure.py [ROOT]
"""
import re
import sys
from pathlib import Path

MAX_LINES = 600
LIMITED = ["shared", "functions"]

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
# `use crate::{a::X, b::Y}` and nested groups: the heads after `crate::{`.
GROUP_RE = re.compile(r"\b(crate|super)::\{")


def modules_of(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path (without `crate`) -> file, for every .rs file under a crate's src/."""
    found = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts in (["lib"], ["main"]):
            found[()] = path
            continue
        if parts[-1] == "mod":
            parts = parts[:-1]
        # Binaries under src/bin are crates of their own; skip them.
        if parts and parts[0] == "bin":
            continue
        found[tuple(parts)] = path
    return found


def strip_comments_and_strings(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def group_paths(text: str, start: int) -> list[str]:
    """The paths inside a `{ ... }` use-group starting at text[start] == '{'."""
    depth, i, out, prefix_stack, token = 0, start, [], [], ""
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth += 1
            prefix_stack.append(token.strip().rstrip(":"))
            token = ""
        elif ch in ",}":
            if token.strip():
                out.append("::".join([p for p in prefix_stack if p] + [token.strip()]))
            token = ""
            if ch == "}":
                depth -= 1
                prefix_stack.pop()
                if depth == 0:
                    break
        else:
            token += ch
        i += 1
    return out


def references(module: tuple[str, ...], text: str, known) -> set:
    text = strip_comments_and_strings(text)
    raw = []
    for m in PATH_RE.finditer(text):
        raw.append((m.group(1), m.group(2)[2:].split("::")))
    for m in GROUP_RE.finditer(text):
        for inner in group_paths(text, m.end() - 1):
            parts = [p for p in re.split(r"\s*::\s*", inner) if p]
            parts = [p.split(" as ")[0].strip() for p in parts]
            raw.append((m.group(1), parts))
    base = module
    targets = set()
    for head, parts in raw:
        if head == "crate":
            absolute = parts
        elif head == "super":
            up = base[:-1]
            while parts and parts[0] == "super":
                up, parts = up[:-1], parts[1:]
            absolute = list(up) + parts
        else:  # self
            absolute = list(base) + parts
        # The longest prefix that is a module of this crate.
        for n in range(len(absolute), 0, -1):
            if tuple(absolute[:n]) in known:
                targets.add(tuple(absolute[:n]))
                break
    return targets


def sibling_edges(crate_modules) -> dict:
    edges: dict[tuple, set] = {}
    for module, path in crate_modules.items():
        text = path.read_text(encoding="utf-8")
        for target in references(module, text, crate_modules):
            # Lift (module -> target) to the children of their lowest common ancestor.
            common = 0
            while (
                common < min(len(module), len(target))
                and module[common] == target[common]
            ):
                common += 1
            if common == len(module) or common == len(target):
                continue  # one is the other's ancestor
            a, b = module[: common + 1], target[: common + 1]
            edges.setdefault(a, set()).add(b)
    return edges


def cycles(edges) -> list[list]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict = {}
    low: dict = {}
    on_stack: set = set()
    stack: list = []
    found: list = []
    counter = [0]
    nodes = set(edges) | {b for targets in edges.values() for b in targets}

    def connect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            connect(node)
    return found


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    for base in LIMITED:
        for path in sorted((root / base).rglob("*.rs")):
            if "target" in path.parts:
                continue
            lines = path.read_text(encoding="utf-8").count("\n")
            if lines > MAX_LINES:
                problems.append(
                    f"{path.relative_to(root)}: {lines} lines (at most {MAX_LINES}): split it by job"
                )
    for manifest in sorted(root.glob("**/Cargo.toml")):
        if any(p in manifest.parts for p in ("target", ".local", ".aws-sam")):
            continue
        src = manifest.parent / "src"
        if not src.is_dir():
            continue
        crate_modules = modules_of(src)
        edges = sibling_edges(crate_modules)
        for component in cycles(edges):
            members = set(component)
            shown = "; ".join(
                "crate::" + "::".join(m) + " uses " + ", ".join(
                    "::".join(t) for t in sorted(edges.get(m, set()) & members)
                )
                for m in component
            )
            problems.append(f"{manifest.parent.relative_to(root)}: module cycle: {shown}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("structure: every file within its size, no module cycles")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

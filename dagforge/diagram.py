"""The task graph of a pipeline as a picture: Mermaid, Graphviz DOT, and PNG or SVG through Graphviz.

Each node shows the task id and its operator; each edge runs from an upstream task to the task that
depends on it; the edges out of a branch task are its choices, dashed and labelled "branch"; an
edge that passes the upstream task's output is labelled XCom. Mermaid and DOT are text made here;
PNG and SVG come from Graphviz's `dot` program.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from .model import Pipeline
from .operators import is_branch

FORMATS = ("mermaid", "dot", "png", "svg")
GRAPHVIZ_HINT = (
    "install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, macOS: `brew install graphviz`, "
    "Windows: `winget install graphviz`), or use --format mermaid or --format dot"
)


# Seconds Graphviz may take to draw one graph: a spec's graph takes it well under one.
DOT_TIMEOUT = 60


class GraphvizMissing(RuntimeError):
    pass


class GraphvizTimeout(RuntimeError):
    pass


def draw(p: Pipeline, fmt: str = "mermaid") -> str | bytes:
    """The picture in `fmt`: text for mermaid, dot and svg; bytes for png."""
    if fmt == "mermaid":
        return mermaid(p)
    if fmt == "dot":
        return dot(p)
    if fmt in ("png", "svg"):
        image = graphviz(dot(p), fmt)
        return image.decode("utf-8") if fmt == "svg" else image
    raise ValueError(f"unknown graph format {fmt!r}; choose one of {', '.join(FORMATS)}")


def mermaid(p: Pipeline) -> str:
    """A Mermaid flowchart, as GitHub renders it in a ```mermaid block."""
    ids = {t.task_id: f"t{i}" for i, t in enumerate(p.tasks)}  # Mermaid reserves words like `end`
    lines = ["---", f"title: {_quoted(p.dag_id)}", "---", "flowchart LR"]
    for t in p.tasks:
        lines.append(f"    {ids[t.task_id]}{_mermaid_node(t.task_id, t.operator.name)}")
    arrow = _mermaid_arrows(p)
    for up, down in p.edges:
        lines.append(f"    {ids[up]} {arrow(up, down)} {ids[down]}")
    return "\n".join(lines) + "\n"


def _mermaid_node(task_id: str, operator: str, note: str = "") -> str:
    """A node's label: task ids are [A-Za-z0-9_.-] and class names identifiers, so no quoting."""
    return f'["{task_id}<br/>{note}{operator}"]'


def _mermaid_arrows(p: Pipeline) -> Callable[[str, str], str]:
    """The arrow of an edge of `p`: a branch's choices, and an edge that passes a task's output,
    say so."""
    branches, data = _branches(p), p.data_edges

    def arrow(up: str, down: str) -> str:
        if up in branches:
            return "-. branch .->"
        return "-- XCom -->" if (up, down) in data else "-->"

    return arrow


# How a change graph marks what changed (GitHub's colours for added, removed and changed lines).
_MARKS = {
    "added": "fill:#dafbe1,stroke:#1a7f37",
    "removed": "fill:#ffebe9,stroke:#cf222e,stroke-dasharray:4 4",
    "changed": "fill:#fff8c5,stroke:#9a6700",
}


def mermaid_changes(p: Pipeline, old: Pipeline, renamed: dict[str, str], changed: set[str]) -> str:
    """The graph of `p` with what changed since `old` marked: added tasks and edges green (an
    added edge thick, labelled `added`), removed ones red and dashed (kept in the picture, edges
    labelled `removed`), changed tasks yellow; a renamed task (`renamed`: old id -> new id) says
    its old id. `changed`: the ids of the tasks whose settings changed."""
    gone = [t for t in old.tasks if t.task_id not in {x.task_id for x in p.tasks}]
    gone = [t for t in gone if t.task_id not in renamed]
    ids = {t.task_id: f"t{i}" for i, t in enumerate([*p.tasks, *gone])}
    was = {new: old_id for old_id, new in renamed.items()}
    before = {t.task_id for t in old.tasks}
    lines = ["---", f"title: {_quoted(p.dag_id)}", "---", "flowchart LR"]
    for t in p.tasks:
        note = f"renamed from {was[t.task_id]}<br/>" if t.task_id in was else ""
        mark = (
            "added"
            if t.task_id not in before and t.task_id not in was
            else "changed"
            if t.task_id in changed or t.task_id in was
            else ""
        )
        node = _mermaid_node(t.task_id, t.operator.name, note)
        lines.append(f"    {ids[t.task_id]}{node}" + (f":::{mark}" if mark else ""))
    for t in gone:
        lines.append(f"    {ids[t.task_id]}{_mermaid_node(t.task_id, t.operator.name)}:::removed")
    old_edges = [(renamed.get(u, u), renamed.get(d, d)) for u, d in old.edges]
    kept, now = set(old_edges), set(p.edges)
    styles: dict[str, list[int]] = {"added": [], "removed": []}
    n, arrow = 0, _mermaid_arrows(p)
    for up, down in p.edges:
        if (up, down) in kept:
            lines.append(f"    {ids[up]} {arrow(up, down)} {ids[down]}")
        else:
            lines.append(f"    {ids[up]} == added ==> {ids[down]}")
            styles["added"].append(n)
        n += 1
    for up, down in old_edges:
        if (up, down) not in now:
            lines.append(f"    {ids[up]} -. removed .-> {ids[down]}")
            styles["removed"].append(n)
            n += 1
    lines += [f"    classDef {mark} {style}" for mark, style in _MARKS.items()]
    colours = {"added": "stroke:#1a7f37", "removed": "stroke:#cf222e"}
    for mark, numbers in styles.items():
        if numbers:
            lines.append(f"    linkStyle {','.join(map(str, numbers))} {colours[mark]}")
    return "\n".join(lines) + "\n"


def _branches(p: Pipeline) -> set[str]:
    """The ids of the branch tasks: only some of their downstream tasks run, the ones they choose."""
    return {t.task_id for t in p.tasks if is_branch(t.operator_given)}


def _quoted(*lines: str) -> str:
    """A double-quoted DOT (and YAML) string; several lines are joined by DOT's line break `\\n`."""
    return '"' + "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines) + '"'


def dot(p: Pipeline) -> str:
    """A Graphviz digraph, left to right."""
    lines = [
        f"digraph {_quoted(p.dag_id)} {{",
        "    rankdir=LR;",
        f"    label={_quoted(p.dag_id)};",
        '    labelloc="t";',
        '    fontname="Helvetica";',
        '    node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];',
        '    edge [color="#555555"];',
    ]
    for t in p.tasks:
        lines.append(f"    {_quoted(t.task_id)} [label={_quoted(t.task_id, t.operator.name)}];")
    branches, data = _branches(p), p.data_edges
    for up, down in p.edges:
        style = (
            ' [style=dashed, label="branch"]'
            if up in branches
            else ' [style=dashed, label="XCom"]'
            if (up, down) in data
            else ""
        )
        lines.append(f"    {_quoted(up)} -> {_quoted(down)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graphviz(source: str, fmt: str) -> bytes:
    """`source` (DOT) laid out and drawn by Graphviz's `dot` as `fmt` (png, svg)."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            f"--format {fmt} needs Graphviz's `dot` program, which is not installed"
        )
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise GraphvizTimeout(
            f"Graphviz's `dot` ({exe}) did not finish within {DOT_TIMEOUT} s"
        ) from None
    if proc.returncode != 0:
        raise RuntimeError(f"Graphviz failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout

"""The task tree of a spec: tasks and task groups (nested), their full ids, and their dependencies
resolved and expanded into task-to-task edges. Plain data in and out: `validate` and `model` share it.

A mapping under `tasks:` that has its own `tasks:` is a group. A task in group `etl` named `clean` has
the id `etl.clean` (Airflow prefixes a group's tasks with its id). A dependency names a node of the
same group first (`clean`), else a node by its full id (`extract`, `etl.clean`). A dependency on a
group means its leaves (its tasks nothing in the group waits for); a group's own dependencies reach
its roots (its tasks that wait for nothing in the group), as Airflow's `group >> task` does. "Waits
for" counts every edge inside the group: its dependencies and the ones mapping makes (a task that
expands over another task's output waits for it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .load import SpecPath
from .schemas import task_setting_set

GROUP_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")  # Airflow's rule for a group id: no dots


@dataclass
class Node:
    full_id: str
    local_id: str
    path: SpecPath  # where its mapping is in the spec: ("tasks", "etl", "tasks", "clean")
    spec: dict[str, Any]
    parent: str | None  # the full id of its group
    is_group: bool
    children: list[str] = field(default_factory=list)
    mapping: bool = (
        True  # False: the spec gives something else than a mapping here (the schema says so)
    )

    @property
    def depth(self) -> int:
        return len(self.path) // 2


@dataclass
class _Last:
    """The last spec's tasks and their nodes, and the last nodes and their links: validation and the
    model ask for both of the same spec, several times, one spec after the other. Kept by identity
    (the object itself is held, so its id is not reused); nothing changes a spec's tasks once it is
    loaded, nor the lists given out (they are read only)."""

    tasks: object = None
    nodes: list[Node] = field(default_factory=list)
    nodes_linked: list[Node] | None = None
    links: list[Link] = field(default_factory=list)


_last = _Last()


def nodes(
    tasks: object, prefix: str = "", path: SpecPath = ("tasks",), parent: str | None = None
) -> list[Node]:
    """Every task and group under `tasks` (the spec's `tasks:`, any value), parents before their
    children, in spec order."""
    if (prefix, path, parent) != ("", ("tasks",), None):  # not a spec's own `tasks:`
        return _nodes(tasks, prefix, path, parent)
    if tasks is not _last.tasks:
        _last.tasks, _last.nodes = tasks, _nodes(tasks)
    return _last.nodes


def _nodes(
    tasks: object, prefix: str = "", path: SpecPath = ("tasks",), parent: str | None = None
) -> list[Node]:
    out: list[Node] = []
    for local, spec in tasks.items() if isinstance(tasks, dict) else ():
        mapping = isinstance(spec, dict)
        spec = spec if mapping else {}
        group = isinstance(spec.get("tasks"), dict)
        node = Node(prefix + local, local, (*path, local), spec, parent, group, mapping=mapping)
        out.append(node)
        if group:
            below = _nodes(spec["tasks"], node.full_id + ".", (*node.path, "tasks"), node.full_id)
            node.children = [n.full_id for n in below if n.parent == node.full_id]
            out += below
    return out


def resolve(name: str, node: Node, by_id: Mapping[str, Node]) -> str | None:
    """The full id a dependency `name` of `node` means: a node of the same group, else a full id."""
    if node.parent is not None and f"{node.parent}.{name}" in by_id:
        return f"{node.parent}.{name}"
    return name if name in by_id else None


def ancestors(node: Node, by_id: Mapping[str, Node]) -> list[str]:
    out: list[str] = []
    parent = node.parent
    while parent is not None:
        out.append(parent)
        parent = by_id[parent].parent
    return out


class Link(NamedTuple):
    """`up >> down` between two nodes (tasks or groups), and the spec entry that makes it. (A named
    tuple: as immutable as a frozen dataclass, and made five times faster, which every spec's
    validate and model do for each of its links.)"""

    up: str
    down: str
    where: (
        SpecPath  # the path of the entry: a `dependencies` item, or an `expand` value's `output_of`
    )
    implicit: bool  # Airflow adds it itself: `down` expands over the output (XCom) of `up`
    scope: int  # the depth of the innermost group holding both ends (0: the DAG)


def declared(all_nodes: list[Node]) -> list[tuple[str, str, SpecPath]]:
    """(upstream full id, node full id, path of the dependency entry) for every dependency that
    resolves to another node; validate reports the rest."""
    return _declared(all_nodes, {n.full_id: n for n in all_nodes})


def _declared(all_nodes: list[Node], by_id: Mapping[str, Node]) -> list[tuple[str, str, SpecPath]]:
    out = []
    for n in all_nodes:
        deps = n.spec.get("dependencies")
        for i, dep in enumerate(deps if isinstance(deps, list) else ()):
            if not isinstance(dep, str):
                continue
            if n.parent is None and dep != n.full_id and dep in by_id and by_id[dep].parent is None:
                # (most dependencies: a node of the DAG on another, neither in a group)
                out.append((dep, n.full_id, (*n.path, "dependencies", i)))
                continue
            up = resolve(dep, n, by_id)
            if (
                up is not None
                and up != n.full_id
                # neither holds the other (at once when neither is in a group: most specs)
                and (
                    (n.parent is None and by_id[up].parent is None)
                    or (
                        up not in ancestors(n, by_id)
                        and n.full_id not in ancestors(by_id[up], by_id)
                    )
                )
            ):
                out.append((up, n.full_id, (*n.path, "dependencies", i)))
    return out


def implicit(all_nodes: list[Node]) -> list[tuple[str, str, SpecPath]]:
    """The edges Airflow adds without a `>>`: a task that expands over another task's output waits
    for it (an XComArg in `.expand()` or `.expand_kwargs()` is an upstream). Same shape as `declared`; validate reports
    `output_of` values that name no task."""
    return _implicit(all_nodes, {n.full_id: n for n in all_nodes})


def _implicit(all_nodes: list[Node], by_id: Mapping[str, Node]) -> list[tuple[str, str, SpecPath]]:
    out = []
    for n in all_nodes:
        if "expand" not in n.spec and "expand_kwargs" not in n.spec:
            continue  # (most tasks)
        expand = n.spec.get("expand")
        for key, value in expand.items() if isinstance(expand, dict) and not n.is_group else ():
            name = value.get("output_of") if isinstance(value, dict) else None
            up = resolve(name, n, by_id) if isinstance(name, str) else None
            if up is not None and up != n.full_id and not by_id[up].is_group:
                out.append((up, n.full_id, (*n.path, "expand", key, "output_of")))
        kwargs = n.spec.get("expand_kwargs")
        name = kwargs.get("output_of") if isinstance(kwargs, dict) and not n.is_group else None
        up = resolve(name, n, by_id) if isinstance(name, str) else None
        if up is not None and up != n.full_id and not by_id[up].is_group:
            out.append((up, n.full_id, (*n.path, "expand_kwargs", "output_of")))
    return out


def is_argument(key: object) -> bool:
    """Whether a task's key is passed to its operator as an argument, where `{output_of:}`,
    `{object:}` and `{function:}` values may be: any key but the task settings, and
    executor_config."""
    return key not in task_setting_set() or key == "executor_config"


def outputs(all_nodes: list[Node]) -> list[tuple[str, str, SpecPath]]:
    """(producer, task, path of the `output_of`) for every `{output_of: TASK}` in a task's arguments,
    at any depth; same shape as `declared`. Written as a `>>` too: Airflow adds that dependency
    itself only for the operator's templated fields, which dagforge does not know."""
    return _outputs(all_nodes, {n.full_id: n for n in all_nodes})


def _outputs(all_nodes: list[Node], by_id: Mapping[str, Node]) -> list[tuple[str, str, SpecPath]]:
    out: list[tuple[str, str, SpecPath]] = []
    for n in all_nodes:
        for key, value in n.spec.items() if not n.is_group else ():
            # (a text or a number holds no output_of: is_argument is asked of lists and mappings)
            if isinstance(value, (dict, list)) and is_argument(key):
                _outputs_in((*n.path, key), value, n, by_id, out)
    return out


def _outputs_in(
    path: SpecPath,
    value: object,
    n: Node,
    by_id: Mapping[str, Node],
    out: list[tuple[str, str, SpecPath]],
) -> None:
    """outputs' walk of one value of task `n` at `path`, adding what it finds to `out`. (A
    function of its own: a nested function that calls itself is a reference cycle, made at each
    call, for the collector.)"""
    if isinstance(value, dict) and isinstance(value.get("output_of"), str):
        up = resolve(value["output_of"], n, by_id)
        if up is not None and up != n.full_id and not by_id[up].is_group:
            out.append((up, n.full_id, (*path, "output_of")))
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)):  # (the others hold none: no path for them)
                _outputs_in((*path, k), v, n, by_id, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                _outputs_in((*path, i), v, n, by_id, out)


def links(all_nodes: list[Node]) -> list[Link]:
    """Every link between nodes, in the order Airflow sees them in a generated file: the implicit
    ones first (they exist as soon as the tasks do), then the declared ones, innermost groups first.
    The order matters: `group >> x` reads the group's leaves when it runs, so every link inside a
    group must be set before one that starts or ends at the group. A link that repeats one is left
    out."""
    if all_nodes is not _last.nodes_linked:
        _last.nodes_linked, _last.links = all_nodes, _links(all_nodes)
    return _last.links


def _links(all_nodes: list[Node]) -> list[Link]:
    by_id = {n.full_id: n for n in all_nodes}
    grouped = any(n.parent is not None for n in all_nodes)  # (most specs: no group)

    def scope(up: str, down: str) -> int:
        if not grouped or by_id[up].parent is None or by_id[down].parent is None:
            return 0  # (most links: no group holds both ends)
        common = set(ancestors(by_id[up], by_id)) & set(ancestors(by_id[down], by_id))
        return max((by_id[g].depth for g in common), default=0)

    found = [Link(u, d, w, True, scope(u, d)) for u, d, w in _implicit(all_nodes, by_id)]
    explicit = [
        Link(u, d, w, False, scope(u, d))
        for u, d, w in _outputs(all_nodes, by_id) + _declared(all_nodes, by_id)
    ]
    found += sorted(explicit, key=lambda link: -link.scope) if grouped else explicit  # (stable)
    seen: set[tuple[str, str]] = set()
    out: list[Link] = []
    for link in found:
        if (link.up, link.down) not in seen:
            seen.add((link.up, link.down))
            out.append(link)
    return out


def task_edges(
    all_nodes: list[Node], all_links: list[Link] | None = None
) -> dict[tuple[str, str], SpecPath]:
    """Task-to-task edges (upstream, downstream) -> the path of the spec entry that made it, from
    `all_links` (`links(all_nodes)`, computed when not given).

    A link from or to a group reaches its leaves or roots as Airflow's TaskGroup computes them when
    the link is set (get_leaves/get_roots): its tasks with no downstream, or no upstream, among the
    group's tasks, counting every edge set so far, implicit ones too."""
    all_links = links(all_nodes) if all_links is None else all_links
    if not any(n.is_group for n in all_nodes):  # (most specs) each link is the edge of two tasks
        plain: dict[tuple[str, str], SpecPath] = {}
        for link in all_links:
            plain.setdefault((link.up, link.down), link.where)
        return plain
    by_id = {n.full_id: n for n in all_nodes}
    members = {n.full_id: _tasks_under(n, by_id) for n in all_nodes}
    edges: dict[tuple[str, str], SpecPath] = {}
    upstream: dict[str, set[str]] = {}
    downstream: dict[str, set[str]] = {}

    # A task is its own root and leaf: no edge joins a task to itself (every link joins two nodes
    # of which neither holds the other, so their tasks differ), which saves the set work below.
    def roots(node_id: str) -> list[str]:
        if not by_id[node_id].is_group:
            return members[node_id]
        inside = set(members[node_id])
        return [t for t in members[node_id] if upstream.get(t, set()).isdisjoint(inside)]

    def leaves(node_id: str) -> list[str]:
        if not by_id[node_id].is_group:
            return members[node_id]
        inside = set(members[node_id])
        return [t for t in members[node_id] if downstream.get(t, set()).isdisjoint(inside)]

    for link in all_links:
        ups, downs = leaves(link.up), roots(link.down)
        for u in ups:
            for d in downs:
                if (u, d) not in edges:
                    edges[u, d] = link.where
                    upstream.setdefault(d, set()).add(u)
                    downstream.setdefault(u, set()).add(d)
    return edges


def _tasks_under(node: Node, by_id: Mapping[str, Node]) -> list[str]:
    if not node.is_group:
        return [node.full_id]
    return [t for child in node.children for t in _tasks_under(by_id[child], by_id)]

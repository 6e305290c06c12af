"""The task tree of a spec: tasks and task groups (nested), their full ids, and their dependencies
resolved and expanded into task-to-task edges. Plain data in and out: `validate` and `model` share it.

A mapping under `tasks:` that has its own `tasks:` is a group. A task in group `etl` named `clean` has
the id `etl.clean` (Airflow prefixes a group's tasks with its id). A dependency names a node of the
same group first (`clean`), else a node by its full id (`extract`, `etl.clean`). A dependency on a
group means its leaves (its tasks nothing in the group waits for); a group's own dependencies reach
its roots (its tasks that wait for nothing in the group), as Airflow's `group >> task` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GROUP_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")  # Airflow's rule for a group id: no dots


@dataclass
class Node:
    full_id: str
    local_id: str
    path: tuple  # where its mapping is in the spec: ("tasks", "etl", "tasks", "clean")
    spec: dict
    parent: str | None  # the full id of its group
    is_group: bool
    children: list[str] = field(default_factory=list)
    mapping: bool = (
        True  # False: the spec gives something else than a mapping here (the schema says so)
    )

    @property
    def depth(self) -> int:
        return len(self.path) // 2


def nodes(
    tasks, prefix: str = "", path: tuple = ("tasks",), parent: str | None = None
) -> list[Node]:
    """Every task and group under `tasks`, parents before their children, in spec order."""
    out = []
    for local, spec in tasks.items() if isinstance(tasks, dict) else ():
        mapping = isinstance(spec, dict)
        spec = spec if mapping else {}
        group = isinstance(spec.get("tasks"), dict)
        node = Node(prefix + local, local, path + (local,), spec, parent, group, mapping=mapping)
        out.append(node)
        if group:
            below = nodes(spec["tasks"], node.full_id + ".", node.path + ("tasks",), node.full_id)
            node.children = [n.full_id for n in below if n.parent == node.full_id]
            out += below
    return out


def resolve(name: str, node: Node, by_id: dict) -> str | None:
    """The full id a dependency `name` of `node` means: a node of the same group, else a full id."""
    if node.parent is not None and f"{node.parent}.{name}" in by_id:
        return f"{node.parent}.{name}"
    return name if name in by_id else None


def ancestors(node: Node, by_id: dict) -> list[str]:
    out, parent = [], node.parent
    while parent is not None:
        out.append(parent)
        parent = by_id[parent].parent
    return out


def declared(all_nodes: list[Node]) -> list[tuple[str, str, tuple, int]]:
    """(upstream full id, node full id, path of the node, index in its dependencies) for every
    dependency that resolves to another node; validate reports the rest."""
    by_id = {n.full_id: n for n in all_nodes}
    out = []
    for n in all_nodes:
        deps = n.spec.get("dependencies")
        for i, dep in enumerate(deps if isinstance(deps, list) else []):
            up = resolve(dep, n, by_id) if isinstance(dep, str) else None
            if (
                up is not None
                and up != n.full_id
                and up not in ancestors(n, by_id)
                and n.full_id not in ancestors(by_id[up], by_id)
            ):
                out.append((up, n.full_id, n.path, i))
    return out


def expand(all_nodes: list[Node]) -> dict[tuple[str, str], tuple]:
    """Task-to-task edges (upstream, downstream) -> the (path, index) of the dependency entry that made it."""
    by_id = {n.full_id: n for n in all_nodes}
    members = {n.full_id: _tasks_under(n, by_id) for n in all_nodes}
    edges: dict[tuple[str, str], tuple] = {}

    def roots(node_id):
        inside = set(members[node_id])
        return [t for t in members[node_id] if not any((u, t) in edges for u in inside)]

    def leaves(node_id):
        inside = set(members[node_id])
        return [t for t in members[node_id] if not any((t, d) in edges for d in inside)]

    def scope_depth(pair):
        up, down = by_id[pair[0]], by_id[pair[1]]
        common = set(ancestors(up, by_id)) & set(ancestors(down, by_id))
        return max((by_id[g].depth for g in common), default=0)

    for up, down, path, i in sorted(
        declared(all_nodes), key=scope_depth, reverse=True
    ):  # innermost groups first
        for u in leaves(up):
            for d in roots(down):
                edges.setdefault((u, d), (path, i))
    return edges


def _tasks_under(node: Node, by_id: dict) -> list[str]:
    if not node.is_group:
        return [node.full_id]
    return [t for child in node.children for t in _tasks_under(by_id[child], by_id)]

"""A task graph laid out left to right without Graphviz, for the catalog's inline SVG.

Layers by longest path: a task stands one column right of its latest upstream task. Task groups are
boxes: each group is laid out on its own (its tasks and inner groups), then placed as one block in
its parent, so that a group's box never covers a task outside it. The items of one parent (tasks and
blocks) are placed in the order of their first column, ties broken by the barycenter of their
upstream tasks (the mean height of the tasks they wait for, which keeps edges short and crossings
few) and then by spec order; each goes to the highest free place in the columns it spans.
Plain arithmetic, deterministic: the same graph always gives the same picture.
"""

from __future__ import annotations

import bisect
import graphlib
import math
from dataclasses import dataclass, field

NODE_W, NODE_H = 180, 40  # a task's box
GAP_Y = 16  # between boxes one above the other
PAD = 10  # a group box's margin around what it holds
HEAD = 18  # the group box's title row
GAP_X = 60  # between columns, besides the group margins (see _Arrangement.x)
EDGE_MARGIN = 6  # between an edge that passes a column and the boxes there


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass
class Layout:
    nodes: dict[str, Box] = field(default_factory=dict)  # task id -> its box
    groups: dict[str, Box] = field(default_factory=dict)  # group id -> its box
    width: float = 0
    height: float = 0
    column: dict[str, int] = field(default_factory=dict)  # task id -> its column
    # column -> the heights its boxes take (a margin around each), merged and in order; its x
    _taken: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    _column_x: dict[int, float] = field(default_factory=dict)

    def _columns(self) -> None:
        spans: dict[int, list[tuple[float, float]]] = {}
        for task, box in self.nodes.items():
            spans.setdefault(self.column[task], []).append(
                (box.y - EDGE_MARGIN, box.y + box.h + EDGE_MARGIN)
            )
            self._column_x[self.column[task]] = box.x
        for c, taken in spans.items():
            merged: list[tuple[float, float]] = []
            for lo, hi in sorted(taken):
                if merged and lo <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
                else:
                    merged.append((lo, hi))
            self._taken[c] = merged

    def route(self, up: str, down: str) -> list[tuple[float, float]]:
        """The points an edge passes: out of `up`'s right side, across each column between the
        two tasks at the free height nearest the straight line (never through a task's box), into
        `down`'s left side."""
        a, b = self.nodes[up], self.nodes[down]
        first, last = self.column[up], self.column[down]
        y1, y2 = a.y + a.h / 2, b.y + b.h / 2
        points = [(a.x + a.w, y1)]
        if not self._taken:
            self._columns()
        for c in range(first + 1, last):
            want = y1 + (y2 - y1) * (c - first) / (last - first)
            y = _nearest_free(want, self._taken[c])
            x = self._column_x[c]
            points += [(x - EDGE_MARGIN, y), (x + NODE_W + EDGE_MARGIN, y)]
        points.append((b.x, y2))
        return points


def _nearest_free(want: float, taken: list[tuple[float, float]]) -> float:
    """The height nearest `want` outside the intervals `taken` (merged, in order)."""
    i = bisect.bisect_right(taken, (want, math.inf)) - 1  # the last interval starting at or above
    if i < 0 or taken[i][1] <= want:
        return want
    lo, hi = taken[i]
    return lo if want - lo <= hi - want else hi


def layers(tasks: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each task's column: 0 for a task that waits for none, else one more than its latest upstream."""
    upstream: dict[str, set[str]] = {t: set() for t in tasks}
    for up, down in edges:
        upstream[down].add(up)
    column: dict[str, int] = {}
    for t in graphlib.TopologicalSorter(upstream).static_order():
        column[t] = max((column[u] + 1 for u in upstream[t]), default=0)
    return column


def lay_out(
    tasks: list[str],
    edges: list[tuple[str, str]],
    group_of: dict[str, str | None],
    parent_of: dict[str, str | None],
) -> Layout:
    """The boxes of `tasks` (in spec order) and of their groups; `group_of`: a task's innermost
    group or None; `parent_of`: a group's parent group or None (parents before their groups)."""
    return _Arrangement(tasks, edges, group_of, parent_of).layout()


Item = tuple[str, str]  # ("task", task id) or ("group", group id): what a parent holds


class _Arrangement:
    def __init__(
        self,
        tasks: list[str],
        edges: list[tuple[str, str]],
        group_of: dict[str, str | None],
        parent_of: dict[str, str | None],
    ) -> None:
        self.column = layers(tasks, edges)
        self.depth = {g: _depth(g, parent_of) for g in parent_of}
        self.deepest = max(self.depth.values(), default=0)
        # columns far enough apart for the margins of the deepest groups on both sides of a gap
        self.step = NODE_W + GAP_X + 2 * PAD * self.deepest
        self.children: dict[str | None, list[Item]] = {}  # spec order
        for g, parent in parent_of.items():
            self.children.setdefault(parent, []).append(("group", g))
        for t in tasks:
            self.children.setdefault(group_of.get(t), []).append(("task", t))
        self.order = {t: i for i, t in enumerate(tasks)}
        self.upstream: dict[str, list[str]] = {t: [] for t in tasks}
        for up, down in edges:
            self.upstream[down].append(up)
        self.members: dict[Item, list[str]] = {}
        for g in reversed(list(parent_of)):  # inner groups first
            self._members(("group", g))
        self.arranged: dict[str | None, tuple[dict[Item, float], float]] = {}

    def _members(self, item: Item) -> list[str]:
        """The tasks of an item: the task itself, or every task in the group, nested ones too."""
        if item not in self.members:
            kind, name = item
            self.members[item] = (
                [name]
                if kind == "task"
                else [t for child in self.children.get(name, []) for t in self._members(child)]
            )
        return self.members[item]

    def x(self, column: int) -> float:
        return column * self.step + PAD * self.deepest

    def span(self, item: Item) -> tuple[int, int]:
        columns = [self.column[t] for t in self._members(item)]
        return min(columns), max(columns)

    def height(self, item: Item) -> float:
        kind, name = item
        return NODE_H if kind == "task" else PAD + HEAD + self.arrange(name)[1] + PAD

    def arrange(self, parent: str | None) -> tuple[dict[Item, float], float]:
        """The items of `parent`, each one's top relative to the parent's inner top; their height."""
        if parent in self.arranged:
            return self.arranged[parent]
        items = [i for i in self.children.get(parent, []) if self._members(i)]
        item_of = {t: i for i in items for t in self._members(i)}
        top: dict[Item, float] = {}
        taken: dict[int, list[tuple[float, float]]] = {}  # column -> the heights taken there

        def placed(item: Item) -> list[str]:
            return [
                u for t in self._members(item) for u in self.upstream[t] if item_of.get(u) in top
            ]

        by_column: dict[int, list[Item]] = {}
        for item in items:
            by_column.setdefault(self.span(item)[0], []).append(item)
        bottom = 0.0
        for first in sorted(by_column):  # left to right; in a column, near what they wait for
            ups = {i: [top[item_of[u]] for u in placed(i)] for i in by_column[first]}
            ranked = sorted(
                by_column[first],
                key=lambda i: (
                    sum(ups[i]) / len(ups[i]) if ups[i] else 0.0,
                    min(self.order[t] for t in self._members(i)),
                ),
            )
            for item in ranked:
                last, h = self.span(item)[1], self.height(item)
                y = _free(taken, first, last, h)
                for c in range(first, last + 1):
                    taken.setdefault(c, []).append((y, y + h))
                top[item] = y
                bottom = max(bottom, y + h)
        self.arranged[parent] = top, bottom
        return top, bottom

    def layout(self) -> Layout:
        out = Layout(column=self.column)

        def place(parent: str | None, y0: float) -> None:
            for item, y in self.arrange(parent)[0].items():
                (kind, name), (first, last) = item, self.span(item)
                if kind == "group":
                    margin = PAD * (self.deepest - self.depth[name] + 1)
                    x0, x1 = self.x(first) - margin, self.x(last) + NODE_W + margin
                    out.groups[name] = Box(x0, y0 + y, x1 - x0, self.height(item))
                    place(name, y0 + y + PAD + HEAD)
                else:
                    out.nodes[name] = Box(self.x(first), y0 + y, NODE_W, NODE_H)

        place(None, PAD)
        out.height = self.arrange(None)[1] + 2 * PAD
        out.width = self.x(max(self.column.values(), default=0)) + NODE_W + PAD * (self.deepest + 1)
        return out


def _free(taken: dict[int, list[tuple[float, float]]], first: int, last: int, h: float) -> float:
    """The highest top at which a box `h` high fits in columns first..last, a gap from the others."""
    y, moved = 0.0, True
    while moved:
        moved = False
        for c in range(first, last + 1):
            for a, b in taken.get(c, []):
                if y < b + GAP_Y and a < y + h + GAP_Y:
                    y, moved = b + GAP_Y, True
    return y


def _depth(g: str, parent_of: dict[str, str | None]) -> int:
    """1 for a top-level group, 2 for a group in it, ..."""
    n = 0
    at: str | None = g
    while at is not None:
        n, at = n + 1, parent_of.get(at)
    return n

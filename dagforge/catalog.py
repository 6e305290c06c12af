"""`dagforge catalog`: a static site of the pipelines, for the people who own, watch or get paged by
them. Plain HTML and CSS, opened from disk or published anywhere: nothing is loaded from the network,
and the one script (the index's filter box) is inline.

Everything a spec says is data here: the templates escape every value (Jinja2 autoescape), doc_md
is rendered by markdown-it-py with HTML and images off (its links refuse `javascript:` and the like),
page names are made from dag ids by a fixed rule, and each page's Content-Security-Policy allows only
its own style and script (by hash), so that even a slip of escaping would run nothing.
The pages depend only on the specs and on `now` (the next runs): the same input, the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from . import describe, layout
from .load import Document, SpecPath
from .model import Pipeline, Task
from .operators import is_branch

# The settings the task table shows, with where each came from: (label, key in the spec)
SETTINGS = (
    ("retries", "retries"),
    ("retry delay", "retry_delay"),
    ("timeout", "execution_timeout"),
    ("alerts", "alerts"),
)
RUNS = 5
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class Origin:
    kind: str  # spec | defaults.yaml | block | group defaults | default
    where: str = ""  # "file:line"


@dataclass
class Entry:
    """One DAG of the catalog: its model, the spec document it came from, and its generated file."""

    pipeline: Pipeline
    doc: Document
    generated: Path | None = None  # the generated file, when it exists
    page: str = ""  # its page, relative to the site folder (set by `site`)


def page_names(dag_ids: list[str]) -> dict[str, str]:
    """dag id -> its page, `dags/NAME.html`: the id where it is plain letters, digits, `_` and `-`
    and no other id differs from it only in case; else a safe form with a short hash of the id."""
    folded: dict[str, int] = {}
    for d in dag_ids:
        folded[d.casefold()] = folded.get(d.casefold(), 0) + 1
    out = {}
    for d in dag_ids:
        name = _SAFE.sub("_", d)[:80]
        if name != d or folded[d.casefold()] > 1:
            name += "-" + hashlib.sha256(d.encode("utf-8")).hexdigest()[:10]
        out[d] = f"dags/{name}.html"
    return out


def site(entries: list[Entry], out: Path, now: datetime) -> dict[str, str]:
    """The catalog's files: relative path -> text. `out` is where it will be written (the links
    to specs and generated files are relative to it); `now` (aware) decides the next runs."""
    entries = sorted(entries, key=lambda e: e.pipeline.dag_id)
    pages = page_names([e.pipeline.dag_id for e in entries])
    env = _environment()
    style, script = _asset("style.css"), _asset("filter.js")
    made = f"{now:%Y-%m-%d %H:%M} {now.tzname() or ''}".strip()
    common = {"style": style, "made": made, "csp": _csp(style)}
    rows = []
    files: dict[str, str] = {}
    for e in entries:
        e.page = pages[e.pipeline.dag_id]
        view = _dag_view(e, out, now)
        rows.append(view)
        files[e.page] = env.get_template("dag.html.j2").render(dag=view, root="../", **common)
    files["index.html"] = env.get_template("index.html.j2").render(
        dags=rows, root="", **{**common, "script": script, "csp": _csp(style, script)}
    )
    return files


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dagforge", "templates/catalog"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _asset(name: str) -> str:
    """A file of the templates folder, as it is (inlined in the pages)."""
    return (resources.files("dagforge") / "templates" / "catalog" / name).read_text("utf-8")


def _csp(style: str, script: str | None = None) -> str:
    """A policy that allows the page's own inline style and script (by their hashes) and nothing
    else: no other script, no loads from anywhere."""

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    scripts = digest(script) if script else "'none'"
    return (
        f"default-src 'none'; style-src {digest(style)}; script-src {scripts}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _dag_view(e: Entry, out: Path, now: datetime) -> dict[str, Any]:
    """What the templates show of one DAG: plain strings, numbers and lists."""
    p, doc = e.pipeline, e.doc
    runs, note = describe.next_runs(p, now, RUNS)
    recipients = list(
        dict.fromkeys([*p.alerts.emails, *(m for t in p.tasks for m in t.alerts.emails)])
    )
    page_dir = out / "dags"
    return {
        "dag_id": p.dag_id,
        "page": e.page,
        "description": p.description or "",
        "doc_md": _markdown(p.doc_md) if p.doc_md else "",
        "owner": p.owner,
        "tags": list(p.tags),
        "schedule": describe.schedule_words(p),
        "next_run": describe._when(runs[0]) if runs else "",
        "runs": [describe._when(r) for r in runs],
        "runs_note": note,
        "timezone": p.timezone,
        "recipients": recipients,
        "search": " ".join([p.dag_id, p.owner, *p.tags, *recipients, p.description or ""]).lower(),
        "graph": _graph(p),
        "tasks": [_task_row(t, p, doc) for t in p.tasks],
        "spec": {"name": doc.display, "href": _href(doc.path, page_dir), "text": doc.text},
        "inputs": [
            {"kind": kind, "name": name, "text": text}
            for kind, files in (("defaults", doc.inherited), ("block", doc.blocks))
            for name, text in sorted(files.items())
        ],
        "generated": (
            {"name": e.generated.name, "href": _href(e.generated, page_dir)}
            if e.generated is not None
            else None
        ),
    }


def _href(target: Path, base: Path) -> str:
    """A relative link from a page in `base` to `target`, each part percent-encoded."""
    try:
        rel = os.path.relpath(target.resolve(), base.resolve())
    except ValueError:  # another drive (Windows): no relative path
        return Path(target.resolve()).as_uri()
    return "/".join(quote(part) for part in Path(rel).parts)


def _markdown(text: str) -> str:
    """doc_md as HTML: CommonMark without raw HTML (it is shown as text) and without images (they
    would be loaded from elsewhere); markdown-it refuses javascript:, vbscript: and data: links."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    return md.render(text)


def _graph(p: Pipeline) -> dict[str, Any]:
    """The task graph's boxes and edges, laid out (layout.py), for the SVG in dag.html.j2."""
    groups = {g.group_id: g for g in p.groups}
    found = layout.lay_out(
        [t.task_id for t in p.tasks],
        p.edges,
        {t.task_id: t.group for t in p.tasks},
        {g.group_id: g.parent for g in p.groups},
    )
    branches = {t.task_id for t in p.tasks if is_branch(t.operator_given)}
    nodes = []
    for t in p.tasks:
        box = found.nodes[t.task_id]
        nodes.append(
            {
                "id": t.task_id,
                "label": _short(t.local_id or t.task_id, 24),
                "operator": _short(t.operator.name, 26),
                "mapped": bool(t.expand or t.expand_kwargs is not None),
                "x": box.x,
                "y": box.y,
                "w": box.w,
                "h": box.h,
            }
        )
    edges = []
    for up, down in p.edges:
        a, b = found.nodes[up], found.nodes[down]
        x1, y1, x2, y2 = a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2
        mid = (x1 + x2) / 2
        edges.append(
            {
                "d": f"M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2 - 2:g},{y2:g}",
                "branch": up in branches,
                "title": f"{up} \u2192 {down}",
            }
        )
    boxes = [
        {
            "id": gid,
            "label": _short(groups[gid].local_id, 30),
            "tooltip": groups[gid].tooltip or "",
            **vars(box),
        }
        for gid, box in found.groups.items()
    ]
    boxes.sort(key=lambda g: g["id"].count("."))  # outer boxes first: inner ones are drawn on top
    return {
        "width": found.width,
        "height": found.height,
        "nodes": nodes,
        "edges": edges,
        "groups": boxes,
    }


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _task_row(t: Task, p: Pipeline, doc: Document) -> dict[str, Any]:
    values = {
        "retries": str(t.retries),
        "retry_delay": describe.duration_words(t.retry_delay) if t.retries else "",
        "execution_timeout": (
            describe.duration_words(t.execution_timeout) if t.execution_timeout else "none"
        ),
        "alerts": describe._alert_words(t.alerts),
    }
    settings = []
    for label, key in SETTINGS:
        o = origin(doc, p, t, key)
        settings.append({"label": label, "value": values[key], "kind": o.kind, "where": o.where})
    return {
        "id": t.task_id,
        "operator": t.operator.name,
        "operator_path": f"{t.operator.module}.{t.operator.name}",
        "group": t.group or "",
        "mapped": bool(t.expand or t.expand_kwargs is not None),
        "upstream": list(t.dependencies),
        "settings": settings,
    }


def origin(doc: Document, p: Pipeline, t: Task, key: str) -> Origin:
    """Where task `t`'s setting `key` came from: its own mapping (in the spec or in a block), the
    defaults of a group it is in (nearest first), the spec's `defaults:` or top-level setting
    (written there or inherited from a defaults.yaml), else the default."""
    node = _at(doc.data, t.where)
    if isinstance(node, dict) and key in node:
        return _origin_of(doc, (*t.where, key))
    groups = {g.group_id: g for g in p.groups}
    at = t.group
    while at is not None:
        g = groups[at]
        given = _at(doc.data, (*g.where, "defaults"))
        if isinstance(given, dict) and key in given:
            o = _origin_of(doc, (*g.where, "defaults", key))
            return Origin("group defaults", f"{g.group_id}: {o.where}")
        at = g.parent
    for path in (("defaults", key), (key,)):
        if _at(doc.data, path) is not None:
            return _origin_of(doc, path)
    return Origin("default")


def _origin_of(doc: Document, path: SpecPath) -> Origin:
    for n in range(len(path), 0, -1):
        if path[:n] in doc.origins:
            return Origin("defaults.yaml", doc.origins[path[:n]])
    file, used_by = doc.file_of(path)
    where = f"{file}:{doc.where(path)[0]}"
    return Origin("block", f"{where} (used at {used_by})") if used_by else Origin("spec", where)


def _at(data: Any, path: SpecPath) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data

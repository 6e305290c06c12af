"""Printing a `dagforge diff`: one reporter class per format (as check-jsonschema has).

- text: a block per DAG, a line per change (the default).
- markdown: for a pull-request comment: a section per DAG, a table of its task changes, the graph
  with what changed marked (Mermaid, as `dagforge graph` draws it).
- json: one document for tools.
- github: a `::notice` workflow command per change, on the spec line it is about.

Every value is escaped for where it goes: `visible` for text and annotations (no line break or
terminal control), a code span in Markdown (no HTML, link or mention).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TextIO

from . import diagram
from .describe import _when  # a run time as explain shows it
from .diagnostics import visible
from .diff import Change, DagDiff, DiffResult
from .report import _escape, diagnostic_json
from .version import version

FORMATS = ("text", "markdown", "json", "github")


def summary(result: DiffResult) -> str:
    counts = {status: 0 for status in ("changed", "added", "removed")}
    for d in result.dags:
        counts[d.status] += 1
    text = ", ".join(f"{n} DAG{'s' * (n != 1)} {status}" for status, n in counts.items())
    if result.invalid:
        files = len({i.diagnostic.path for i in result.invalid})
        text += f", {files} spec{'s' * (files != 1)} not compared (invalid)"
    return f"against {result.base}: {text}"


def words(c: Change) -> str:
    """A change in words, without its task."""
    if c.kind == "dag":
        return f"DAG {c.key}"
    if c.kind == "task":
        if c.key == "renamed":
            return f"renamed from {c.before}"
        return c.key
    if c.kind == "edge":
        return f"edge {c.before or c.after}: {c.key}"
    name = f"argument {c.key}" if c.kind == "argument" else c.key
    if c.before is None:
        return f"{name}: + {c.after}"
    if c.after is None:
        return f"{name}: - {c.before}"
    return f"{name}: {c.before} -> {c.after}"


class Reporter:
    def __init__(self, out: TextIO, err: TextIO):
        self.out, self.err = out, err

    def report(self, result: DiffResult) -> None:
        raise NotImplementedError


class TextReporter(Reporter):
    def report(self, result: DiffResult) -> None:
        for i in result.invalid:
            print(i.diagnostic.format(i.lines), file=self.err)
        for dag in result.dags:
            print(visible(f"{dag.dag_id} ({dag.spec}): {dag.status}"), file=self.out)
            if dag.status == "changed":
                for c in dag.changes:
                    task = f"task {c.task}: " if c.task else ""
                    print(visible(f"  {task}{words(c)}"), file=self.out)
                    if c is dag.runs_after:
                        for label, runs in (
                            ("appear", dag.runs_added),
                            ("disappear", dag.runs_removed),
                        ):
                            if runs:
                                print(
                                    f"    runs that {label}: {', '.join(map(_when, runs))}",
                                    file=self.out,
                                )
        print(visible(f"dagforge diff {summary(result)}"), file=self.err)


def _code(value: str | None) -> str:
    """A value as a Markdown code span in a table cell: no HTML, link or mention; a `|` escaped
    (GitHub splits cells on it even in code)."""
    if value is None:
        return ""
    text = visible(value).replace("|", "\\|")
    ticks = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


class MarkdownReporter(Reporter):
    def report(self, result: DiffResult) -> None:
        out = [f"## dagforge diff against {_code(result.base)}", "", summary_md(result), ""]
        if result.invalid:
            out += ["### Specs not compared (invalid)", ""]
            out += [f"- {_code(i.diagnostic.format())}" for i in result.invalid]
            out.append("")
        for dag in result.dags:
            out += self.dag(dag)
        print("\n".join(out).rstrip("\n"), file=self.out)

    def dag(self, dag: DagDiff) -> list[str]:
        out = [f"### {_code(dag.dag_id)}: {dag.status}", "", f"Spec: {_code(dag.spec)}", ""]
        if dag.status != "changed":
            return out
        own = [c for c in dag.changes if c.task is None and c.kind != "edge"]
        for (
            c
        ) in own:  # a tag or a recipient is added or removed; a setting goes from one to another
            if c.before is None:
                change = f"added {_code(c.after)}"
            elif c.after is None:
                change = f"removed {_code(c.before)}"
            else:
                change = f"{_code(c.before)} → {_code(c.after)}"
            out.append(f"- **{c.key}**: {change}")
            if c is dag.runs_after:
                for label, runs in (("appear", dag.runs_added), ("disappear", dag.runs_removed)):
                    if runs:
                        out.append(
                            f"  - runs that {label}: " + ", ".join(_code(_when(r)) for r in runs)
                        )
        edges = [c for c in dag.changes if c.kind == "edge"]
        for c in edges:
            out.append(f"- **edge {c.key}**: {_code(c.before or c.after)}")
        tasks = [c for c in dag.changes if c.task is not None]
        if own or edges:
            out.append("")
        if tasks:
            out += ["| Task | Change | Before | After |", "| --- | --- | --- | --- |"]
            for c in tasks:
                what = f"argument {c.key}" if c.kind == "argument" else c.key
                out.append(f"| {_code(c.task)} | {what} | {_code(c.before)} | {_code(c.after)} |")
            out.append("")
        if dag.before and dag.after and (tasks or edges):  # the graph, when something in it changed
            changed = {c.task for c in tasks if c.task and c.kind != "task"}
            graph = diagram.mermaid_changes(dag.after, dag.before, dag.renamed, changed)
            out += ["```mermaid", graph.rstrip("\n"), "```", ""]
        return out


def summary_md(result: DiffResult) -> str:
    text = summary(result).split(": ", 1)[1]
    return text[:1].upper() + text[1:] + "."


class JsonReporter(Reporter):
    def report(self, result: DiffResult) -> None:
        doc = {
            "dagforge": version(),
            "base": result.base,
            "changed": result.changed,
            "summary": summary(result),
            "invalid": [
                {**diagnostic_json(i.diagnostic), "at": "base" if i.at_base else "now"}
                for i in result.invalid
            ],
            "dags": [
                {
                    "dag_id": dag.dag_id,
                    "status": dag.status,
                    "spec": dag.spec,
                    "changes": [
                        {
                            "kind": c.kind,
                            "key": c.key,
                            "task": c.task,
                            "before": c.before,
                            "after": c.after,
                            "file": c.file or None,
                            "line": c.line or None,
                        }
                        for c in dag.changes
                    ],
                    "runs_added": [r.isoformat() for r in dag.runs_added],
                    "runs_removed": [r.isoformat() for r in dag.runs_removed],
                }
                for dag in result.dags
            ],
        }
        print(json.dumps(doc, indent=2), file=self.out)


class GithubReporter(Reporter):
    def report(self, result: DiffResult) -> None:
        from .report import github_command

        for i in result.invalid:  # a line at the base is not that line now: the file only
            d = replace(i.diagnostic, line=0, column=0) if i.at_base else i.diagnostic
            print(github_command(d), file=self.out)
        for dag in result.dags:
            for c in dag.changes:
                task = f"task {c.task}: " if c.task else ""
                message = visible(f"{dag.dag_id}: {task}{words(c)}")
                props = {"file": visible(c.file), "line": c.line} if c.file and c.line else {}
                props["title"] = "dagforge diff"
                attrs = ",".join(f"{k}={_escape(str(v), True)}" for k, v in props.items())
                print(f"::notice {attrs}::{_escape(message)}", file=self.out)
        print(visible(f"dagforge diff {summary(result)}"), file=self.err)


REPORTERS: dict[str, type[Reporter]] = {
    "text": TextReporter,
    "markdown": MarkdownReporter,
    "json": JsonReporter,
    "github": GithubReporter,
}

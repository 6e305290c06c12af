"""Writing converted DAGs as spec files: in the style a person writes them, settings they all share
lifted into the folder's defaults.yaml, never over an existing file without --force."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..diagnostics import Code, Diagnostic
from .result import Converted

# ---------------------------------------------------------------------------------------------
# Writing the specs


class _Dumper(yaml.SafeDumper):
    """Block mappings, flow lists of plain values (`dependencies: [a, b]`), `|` for multi-line text."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


def _list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.SequenceNode:
    flow = all(isinstance(i, str | int | float | bool) and "\n" not in str(i) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


def _dict(dumper: yaml.SafeDumper, mapping: dict[str, Any]) -> yaml.MappingNode:
    # the short value forms on one line, as a person writes them: `{output_of: extract}`,
    # `start_date: {before_today: 2d}`
    flow = bool({"output_of", "before_today"} & set(mapping)) and all(
        isinstance(v, str | int | float | bool) and "\n" not in str(v) for v in mapping.values()
    )
    return dumper.represent_mapping("tag:yaml.org,2002:map", mapping, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(dict, _dict)
_LIFT = (
    "owner",
    "start_date",
    "end_date",
    "timezone",
    "catchup",
    "tags",
    "retries",
    "retry_delay",
    "alerts",
    "max_active_runs",
    "dagrun_timeout",
)


def dump(spec: dict[str, Any], header: str) -> str:
    # long commands stay on one line (a folded `{{\n ds }}` is valid YAML, but no one writes it)
    body = yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
    return header + body


def lift_defaults(convs: list[Converted]) -> dict[str, Any]:
    """The settings every converted DAG shares (two or more DAGs): a person writes them once, in
    the output folder's defaults.yaml. They are taken out of the specs."""
    specs = [c.spec for c in convs if not c.failed]
    if len(specs) < 2:
        return {}
    shared = {}
    for key in _LIFT:
        values = [s.get(key, _MISSING) for s in specs]
        if values[0] is not _MISSING and all(v == values[0] for v in values):
            shared[key] = values[0]
    for s in specs:
        for key in shared:
            del s[key]
    return shared


_MISSING = object()


def header_for(source: Path, dag_id: str, kind: str = "dag-factory") -> str:
    try:  # relative to the working folder where it lies below it: the name the user typed
        name = source.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        name = source.resolve().as_posix()
    return f"# Imported by `dagforge import` from {name} ({kind}, DAG {dag_id}).\n"


def write_specs(
    convs: list[Converted], out: Path, force: bool, lift: bool = True, kind: str = "dag-factory"
) -> tuple[list[Path], list[Diagnostic]]:
    """Write DIR/<dag_id>.yaml for every converted DAG (and DIR/defaults.yaml for what they share).
    Refuses, before writing anything, to overwrite an existing file unless `force`."""
    from ..write import check_folder, write_atomic

    check_folder(out)  # OutputError: `-o` names a file, or a link to nothing

    good = [c for c in convs if not c.failed]
    plans: list[tuple[Path, str]] = []
    shared = lift_defaults(good) if lift and not (out / "defaults.yaml").exists() else {}
    if shared:
        text = "# Settings shared by the DAGs `dagforge import` converted into this folder.\n"
        plans.append((out / "defaults.yaml", dump(shared, text)))
    for c in good:
        spec = c.spec
        plans.append((out / f"{c.dag_id}.yaml", dump(spec, header_for(c.source, c.dag_id, kind))))
        c.written = out / f"{c.dag_id}.yaml"
    problems = []
    if not force:
        for target, _ in plans:
            if target.exists():
                problems.append(
                    Diagnostic(
                        target.as_posix(),
                        0,
                        0,
                        "exists already; not overwritten",
                        "pass --force to overwrite it, or -o DIR to write elsewhere",
                        Code.USAGE,
                    )
                )
    if problems:
        for c in good:
            c.written = None
        return [], problems
    out.mkdir(parents=True, exist_ok=True)
    for target, text in plans:
        write_atomic(target, text)
    return [p for p, _ in plans], []


_DAG_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")


def check_ids(convs: list[Converted]) -> None:
    """A dag_id names its spec file: one that a spec does not allow (a `/`, a line break, ...) is
    not converted, nor is a second DAG of the same id (Airflow, too, keeps only one of them)."""
    first: dict[str, Converted] = {}
    for conv in convs:
        if conv.failed:
            continue
        if not _DAG_ID.fullmatch(conv.dag_id):
            conv.failed = (
                f"dag_id {conv.dag_id!r} is not a spec's dag_id (letters, digits, `_`, `.`, `-`, "
                "at most 250)"
            )
            continue
        other = first.setdefault(conv.dag_id, conv)
        if other is not conv:
            conv.failed = f"dag_id {conv.dag_id} is also a DAG of {other.source.as_posix()}"

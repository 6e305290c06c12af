"""The built-in short operator names, read from the schema: each `$defs.op_NAME` of
dagforge/schemas/pipeline.schema.json is one, and its `x-dagforge` says where the class lives on each
Airflow version, which package provides it and how dagforge treats its arguments. A new short name is
a definition there (CONTRIBUTING.md), not code here. Knows no Airflow: `validate` and `model` read it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

from .schemas import schema

STANDARD = "apache-airflow-providers-standard"


@dataclass(frozen=True)
class Short:
    module: str  # the Airflow 3 home (`x-dagforge.class`)
    name: str
    package: str  # the distribution to install for it
    airflow2: str | None = None  # the class's import path on Airflow 2.10, where it differs
    durations: tuple[str, ...] = ()  # arguments written as durations ("5m") and passed as timedelta
    schema: bool = (
        False  # True: its arguments are all it takes (a closed JSON Schema, checked by `validate`)
    )
    arguments: tuple[str, ...] = ()  # the arguments its schema describes
    # `python_callable: module:function` is imported by the generated file, as for `python`
    callable: bool = False
    branch: bool = False  # its downstream tasks are the choices it returns (BranchPythonOperator)
    # Airflow's `@task` (TaskFlow): the generated file decorates the function and calls it with
    # op_args/op_kwargs (or maps it with `expand`); the task is the decorated operator it makes
    taskflow: bool = False


@cache
def _read() -> dict[str, Short]:
    out = {}
    for key, definition in schema()["$defs"].items():
        given = definition.get("x-dagforge") if key.startswith("op_") else None
        if given is None:
            continue
        module, name = given["class"].rsplit(".", 1)
        out[key.removeprefix("op_")] = Short(
            module,
            name,
            given["package"],
            airflow2=given.get("airflow2"),
            durations=tuple(given.get("durations", ())),
            # the others refer to `$defs.checked_arguments`: any name, checked against the class
            schema="$ref" not in definition,
            arguments=tuple(definition.get("properties", {})),
            callable=given.get("callable", False),
            branch=given.get("branch", False),
            taskflow=given.get("taskflow", False),
        )
    return out


class _Shorts(Mapping[str, Short]):
    """The short names, read from the schema when first asked: importing this module (as
    `dagforge --help` does) parses no schema."""

    def __getitem__(self, name: str) -> Short:
        return _read()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_read())

    def __len__(self) -> int:
        return len(_read())

    # Mapping's own `in` and get() go through __getitem__ and a KeyError: every task asks several
    # times, so they ask the dict
    def __contains__(self, name: object) -> bool:
        return name in _read()

    def get(self, name: str, default: Short | None = None) -> Short | None:  # type: ignore[override]
        return _read().get(name, default)


SHORT: Mapping[str, Short] = _Shorts()


def package_of(module: str) -> str | None:
    """The distribution that provides a short name's module, for "install ..." hints."""
    return next((s.package for s in SHORT.values() if s.module == module), None)


def takes_callable(op: object) -> bool:
    """Whether the short name `op` takes `python_callable: module:function` (imported by the file)."""
    return isinstance(op, str) and op in SHORT and SHORT[op].callable


def is_branch(op: object) -> bool:
    """Whether the short name `op` is a branch: it picks which of its downstream tasks run."""
    return isinstance(op, str) and op in SHORT and SHORT[op].branch


def is_taskflow(op: object) -> bool:
    """Whether the short name `op` is Airflow's `@task` (a TaskFlow task)."""
    short = SHORT.get(op) if isinstance(op, str) else None  # one look-up: asked twice a task
    return short is not None and short.taskflow

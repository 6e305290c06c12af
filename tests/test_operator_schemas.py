"""Short operator names are the schema's `$defs.op_X` and a macro each: nothing else names them."""

import json
import os
import shutil
import subprocess
import sys

import jsonschema
from conftest import ROOT
from operator_schemas import PACKAGED, text, with_operator_tasks

import dagforge
from dagforge.operators import SHORT
from dagforge.render import _environment


def test_the_schema_file_is_what_operator_schemas_writes():
    written = text(with_operator_tasks(json.loads(PACKAGED.read_text("utf-8"))))
    assert PACKAGED.read_text("utf-8") == written, "run: python tests/operator_schemas.py --regen"


def test_every_short_name_has_a_macro_and_every_macro_a_short_name():
    module = _environment().get_template("operators.py.j2").module
    macros = {name for name in dir(module) if not name.startswith("_")}
    assert macros == {*SHORT, "task_call"}


def test_an_operators_own_definition_checks_a_task_as_the_whole_schema_does():
    # what an editor sees through `$defs.task`'s rule is the same definition validate picks by name
    whole = jsonschema.Draft202012Validator(dagforge.schemas.schema())
    defs = dagforge.schemas.schema()["$defs"]
    for task in (
        {"operator": "bash", "bash_command": "echo", "retries": 1},
        {"operator": "bash", "bash_comand": "echo"},
        {"operator": "sql", "sql": "select 1", "any_argument": 1},
        {"operator": "sql", "not an identifier": 1},
        {"operator": "http", "endpoint": 1},
    ):
        op = task["operator"]
        own = jsonschema.Draft202012Validator({**defs[f"{op}_task"], "$defs": defs})
        spec = {"start_date": "2024-01-01", "tasks": {"t": task}}
        assert own.is_valid(task) == whole.is_valid(spec), task


# A short name that dagforge does not have: LatestOnlyOperator, which moved in Airflow 3 as the
# others did, with no arguments of its own.
LATEST_ONLY = {
    "description": "`operator: latest_only` (LatestOnlyOperator): skips its downstream tasks "
    "unless the run is the latest.",
    "x-dagforge": {
        "class": "airflow.providers.standard.operators.latest_only.LatestOnlyOperator",
        "package": "apache-airflow-providers-standard",
        "airflow2": "airflow.operators.latest_only.LatestOnlyOperator",
    },
    "properties": {},
}
MACRO = (
    "{% macro latest_only(node, pad) %}\n"
    "{{ pad }}# only the latest run goes on\n"
    "{{ task_call(node, pad) }}{% endmacro %}\n"
)


def test_a_new_short_name_is_its_schema_definition_and_its_macro(tmp_path):
    # CONTRIBUTING's steps on a copy of the package, and nothing else: the build knows the name
    package = tmp_path / "dagforge"
    shutil.copytree(
        ROOT / "dagforge", package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    schema_file = package / "schemas" / "pipeline.schema.json"
    schema = json.loads(schema_file.read_text("utf-8"))
    schema["$defs"] = {"op_latest_only": LATEST_ONLY, **schema["$defs"]}
    schema_file.write_text(text(with_operator_tasks(schema)), encoding="utf-8")
    with open(package / "templates" / "operators.py.j2", "a", encoding="utf-8") as macros:
        macros.write(MACRO)

    for folder, task in (
        ("good", "{operator: latest_only}"),
        # closed, as the other short names' schemas without arguments of their own are
        ("bad", "{operator: latest_only, bash_command: echo}"),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "pipe.yaml").write_text(
            f"start_date: 2024-01-01\ntasks:\n  latest: {task}\n"
            "  work: {operator: bash, bash_command: echo, dependencies: [latest]}\n"
        )
    # One Python that imports the copy (one start of dagforge, not one a command) and runs the CLI
    script = (
        "import sys, dagforge\n"
        "from dagforge.cli import main\n"
        "print(dagforge.__file__)\n"
        "for args in sys.argv[1:]:\n"
        "    print(main(args.split()))\n"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            *(f"build good -o out{v} --no-verify --airflow {v}" for v in "32"),
            "validate bad",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.stdout.splitlines() == [str(package / "__init__.py"), "0", "0", "1"], r.stderr
    for airflow, module in (
        ("3", "airflow.providers.standard.operators.latest_only"),
        ("2", "airflow.operators.latest_only"),
    ):
        source = (tmp_path / f"out{airflow}" / "pipe.py").read_text()
        assert f"from {module} import LatestOnlyOperator\n" in source
        assert (
            '    # only the latest run goes on\n    latest = LatestOnlyOperator(task_id="latest")'
            in source
        )
    assert "bad/pipe.yaml:3:35: error: unknown key 'bash_command' in task 'latest'" in r.stderr

"""Property-based: any text in any free-text field comes out of Airflow's DagBag exactly as written,
and loading the generated module runs nothing but the DAG definition.

Profiles (tests/conftest.py): `ci` (default, a few hundred examples) and `thorough` (10,000):
    HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_injection.py
"""

import ast
import keyword
import re
import uuid

import yaml
from conftest import dump_yaml, load_dagbag
from hypothesis import assume, example, given
from hypothesis import strategies as st

import dagforge

PAYLOADS = [
    "'); __import__('os').system('touch {sentinel}'); ('",
    '"""); open("{sentinel}", "w"); ("""',
    "{{{{ open('{sentinel}', 'w') }}}}",
    "{{% set x = cycler.__init__.__globals__.os.system('touch {sentinel}') %}}",
    "\\'); open('{sentinel}','w') #",
    "\n__import__('os').system('touch {sentinel}')\n",
    'f\'{{open("{sentinel}", "w")}}\'',
]
# Any unicode but NUL and lone surrogates (neither can be written in a UTF-8 YAML file).
CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
LINE_CHARS = st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp"))
# The characters repr() writes as themselves: text of several lines made of them is written as a
# triple-quoted block (render._block), the rest with repr's escapes.
PRINTED = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))


def texts(sentinel):
    free = st.text(CHARS, min_size=1, max_size=40)
    payload = st.sampled_from(PAYLOADS).map(lambda p: p.format(sentinel=sentinel))
    line = st.one_of(st.text(PRINTED | st.just(" "), max_size=30), payload, free)
    lines = st.lists(line, min_size=2, max_size=4).map("\n".join)
    return st.one_of(free, payload, st.tuples(free, payload, free).map("".join), lines)


SENTINEL = f"/tmp/dagforge-injected-{uuid.uuid4().hex}"


@st.composite
def fields(draw):
    t = texts(SENTINEL)
    return {
        "description": draw(t),
        "doc_md": draw(t),
        "owner": draw(t),
        "tags": draw(st.lists(st.text(CHARS, min_size=1, max_size=100), max_size=3, unique=True)),
        "bash_command": draw(t),
        "env_key": draw(t),
        "env_value": draw(t),
        "subject": draw(t),
        "html": draw(t),
        "cwd": draw(t),
        # Airflow's pool and queue columns hold no control characters: validate refuses them
        "queue": draw(st.text(LINE_CHARS, min_size=1, max_size=60)),
        # in the value forms: an object's and a bound function's arguments, an XCom key
        "object_text": draw(t),
        "function_text": draw(t),
        "xcom_key": draw(t),
        "callback_text": draw(t),
    }


def _spec(f):
    f = {
        k: v if k == "env_key" else _literal(v) for k, v in f.items()
    }  # keys are never substituted
    return {
        "dag_id": "prop",
        "description": f["description"],
        "doc_md": f["doc_md"],
        "owner": f["owner"],
        "start_date": "2024-01-01",
        "tags": f["tags"],
        "callbacks": {
            "on_failure": [{"function": "textwrap:indent", "prefix": f["callback_text"]}]
        },
        "tasks": {
            "shell": {
                "operator": "bash",
                "bash_command": f["bash_command"],
                "env": {f["env_key"]: f["env_value"]},
                "queue": f["queue"],
            },
            "mail": {
                "operator": "email",
                "to": "a@example.com",
                "subject": f["subject"],
                "html_content": f["html"],
                "dependencies": ["shell"],
            },
            "any": {
                "operator": "airflow.providers.standard.operators.bash.BashOperator",
                "bash_command": "true",
                "cwd": f["cwd"],
            },
            "mapped": {  # values inside `expand_kwargs` mappings
                "operator": "bash",
                "expand_kwargs": [
                    {"bash_command": f["bash_command"], "env": {f["env_key"]: f["env_value"]}},
                    {"bash_command": f["subject"], "cwd": f["cwd"]},
                ],
            },
            "forms": {
                "operator": "airflow.providers.standard.operators.python.PythonOperator",
                "python_callable": "json:dumps",
                "op_kwargs": {
                    "note": {"object": "types.SimpleNamespace", "text": f["object_text"]},
                    "bound": {"function": "textwrap:indent", "prefix": f["function_text"]},
                    "rows": {"output_of": "shell", "key": f["xcom_key"]},
                },
            },
        },
    }


def _literal(value):
    """Spec text that means `value` itself: `${` is written `$${` (dagforge substitutes ${VAR} otherwise)."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


@given(f=fields())
def test_any_text_round_trips_through_dagbag(tmp_path_factory, f):
    spec = _spec(f)
    text = dump_yaml(spec)
    assume(yaml.safe_load(text) == spec)  # only what YAML itself can carry
    assume(not f["doc_md"].endswith(".md"))  # Airflow reads such a doc_md as the name of a file
    folder = tmp_path_factory.mktemp("prop")
    (folder / "prop.yaml").write_text(text, encoding="utf-8")
    result = dagforge.build([folder / "prop.yaml"], folder / "out", verify=False)
    assert result.ok, [d.format() for d in result.specs[0].diagnostics]
    code = result.specs[0].code
    _only_the_dag_definition(code)
    bag = load_dagbag(folder / "out")
    assert not bag.import_errors, bag.import_errors
    assert not bag.captured_warnings, bag.captured_warnings
    dag = bag.dags["prop"]
    assert dag.description == f["description"]
    assert dag.doc_md == f["doc_md"]
    assert dag.task_dict["shell"].owner == f["owner"]
    assert sorted(dag.tags) == sorted(f["tags"])
    shell = dag.task_dict["shell"]
    assert shell.bash_command == f["bash_command"]
    assert shell.env == {f["env_key"]: f["env_value"]}
    assert shell.queue == f["queue"]
    assert dag.task_dict["mail"].subject == f["subject"]
    assert dag.task_dict["mail"].html_content == f["html"]
    assert dag.task_dict["any"].cwd == f["cwd"]
    assert dag.task_dict["mapped"].expand_input.value == [
        {"bash_command": f["bash_command"], "env": {f["env_key"]: f["env_value"]}},
        {"bash_command": f["subject"], "cwd": f["cwd"]},
    ]
    forms = dag.task_dict["forms"].op_kwargs
    assert forms["note"].text == f["object_text"]
    assert forms["bound"].keywords == {"prefix": f["function_text"]}
    assert (forms["rows"].operator.task_id, forms["rows"].key) == ("shell", f["xcom_key"])
    assert dag.on_failure_callback[0].keywords == {"prefix": f["callback_text"]}
    import os

    assert not os.path.exists(SENTINEL), "a spec string ran as code"


def _only_the_dag_definition(code: str):
    tree = ast.parse(code)
    assert {type(n).__name__ for n in tree.body} <= {"Import", "ImportFrom", "With"}
    calls = set()
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.JoinedStr, ast.Lambda, ast.FunctionDef))
        if isinstance(node, ast.Subscript):  # only an XCom key: `task.output["key"]`
            assert ast.unparse(node.value) == "shell.output", ast.unparse(node)
            assert isinstance(node.slice, ast.Constant), ast.unparse(node)
        if isinstance(node, ast.Call):
            func = node.func  # `Op.partial(...).expand_kwargs(...)`: the method of a call
            mapped = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
            calls.add(
                f"{ast.unparse(func.value.func)}(...).{func.attr}" if mapped else ast.unparse(func)
            )
    allowed = {"DAG", "BashOperator", "EmailOperator", "pendulum.datetime", "timedelta"}
    allowed |= {"BashOperator.partial", "BashOperator.partial(...).expand_kwargs"}
    allowed |= {"PythonOperator", "SimpleNamespace", "partial"}
    assert calls <= allowed, calls


DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
FUNCTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
NAME_CHARS = st.sampled_from("abcXY_09.:;() '\"\n\\") | CHARS


@given(
    path=st.one_of(st.text(NAME_CHARS, min_size=1, max_size=30), st.sampled_from(PAYLOADS)),
    where=st.sampled_from(
        ["object", "function", "callback", "python_callable", "timetable", "deadline"]
    ),
)
# A Python keyword in a path that the schema's pattern takes: the import line would be no Python.
@example(path="import.alerts:late", where="callback")
@example(path="class.Workdays", where="timetable")
@example(path="import.alerts:late", where="deadline")
def test_an_import_path_is_a_dotted_identifier_and_nothing_else(tmp_path_factory, path, where):
    """Whatever names a class or a function in a value form, a callback or a python_callable, the
    spec is valid only when it is a dotted identifier (`pkg.mod.Class`, `pkg.mod:func`), so the
    import line made of it is never code."""
    task = {"operator": "airflow.providers.standard.operators.python.PythonOperator"}
    spec = {"dag_id": "paths", "start_date": "2024-01-01", "tasks": {"t": task}}
    task["python_callable"] = path if where == "python_callable" else "json:dumps"
    if where in ("object", "function"):
        task["op_kwargs"] = {"x": {where: path}}
    if where == "callback":
        spec["callbacks"] = {"on_failure": [path]}
    if where == "timetable":
        spec["schedule"] = {"object": path}
    if where == "deadline":
        spec["deadline"] = {
            "reference": "dagrun_queued_at",
            "interval": "1h",
            "callback": {"function": path},
        }
    text = dump_yaml(spec)
    assume(yaml.safe_load(text) == spec)
    folder = tmp_path_factory.mktemp("paths")
    (folder / "paths.yaml").write_text(text, encoding="utf-8")
    result = dagforge.validate([folder / "paths.yaml"], verify=False)
    if result.ok:
        pattern = DOTTED if where in ("object", "timetable") else FUNCTION
        assert pattern.fullmatch(path) and not any(
            keyword.iskeyword(part) for part in re.split(r"[.:]", path)
        ), path

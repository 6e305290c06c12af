"""DAG-level settings (display name, owner links, templates, macros and filters, pausing, fail_fast,
access_control, deadline alerts): written into the file, loaded and compared in a real DagBag."""

import textwrap

from conftest import load_dagbag

import dagforge
from dagforge import verify
from dagforge.load import load as load_document
from dagforge.model import build_model

SPEC = """
dag_id: settings_demo
start_date: 2024-01-01
schedule: "@daily"
dag_display_name: "Sales — daily"
owner_links: {data-eng: "https://wiki.example.com/data-eng", alice: "mailto:alice@example.com"}
render_template_as_native_obj: false
template_searchpath: [templates]
user_defined_macros: {quarter: team_templating:quarter, REGION: team_templating:REGION}
user_defined_filters: {shout: team_templating:shout}
is_paused_upon_creation: false
fail_fast: true
deadline: {reference: dagrun_queued_at, interval: 2h, callback: team_templating:late}
tasks:
  report:
    operator: bash
    bash_command: report.sh
"""
MODULE = """
REGION = "emea"


def quarter(ds):
    return "Q" + str((int(ds[5:7]) - 1) // 3 + 1)


def shout(text):
    return text.upper()


def late(**context):
    return context


def page(context, channel="#general"):
    return channel
"""


def _project(tmp_path, spec=SPEC):
    (tmp_path / "team_templating.py").write_text(MODULE)
    specs = tmp_path / "specs"
    (specs / "templates").mkdir(parents=True)
    (specs / "templates" / "report.sh").write_text(
        'echo {{ quarter(ds) }} {{ "ok" | shout }} {{ REGION }}\n'
    )
    (specs / "settings.yaml").write_text(textwrap.dedent(spec).lstrip())
    return specs


def test_settings_load_in_a_real_dagbag_and_templates_render_from_the_searchpath(
    tmp_path, monkeypatch
):
    specs = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = dagforge.build([specs], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    assert not result.specs[0].diagnostics  # report.sh is in the searchpath: no template warning
    code = result.specs[0].code
    assert 'os.path.join(os.path.dirname(__file__), "../specs/templates")' in code
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    dag = bag.dags["settings_demo"]
    assert dag.dag_display_name == "Sales — daily"
    assert dag.owner_links["alice"] == "mailto:alice@example.com"
    assert dag.fail_fast and dag.is_paused_upon_creation is False
    [alert] = [dag.deadline] if not isinstance(dag.deadline, list) else dag.deadline
    assert type(alert.reference).__name__ == "DagRunQueuedAtDeadline"
    assert alert.interval.total_seconds() == 7200
    assert alert.callback.path == "team_templating.late"
    # Airflow itself finds report.sh in the searchpath and renders it with the macros and filters
    task = dag.task_dict["report"]
    task.render_template_fields({"ds": "2024-05-01"})
    assert task.bash_command.strip() == "echo Q2 OK emea"
    # and from elsewhere: the path is the file's own folder, not the working folder
    monkeypatch.chdir("/")
    again = load_dagbag(tmp_path / "out").dags["settings_demo"].task_dict["report"]
    again.render_template_fields({"ds": "2024-11-01"})
    assert again.bash_command.strip() == "echo Q4 OK emea"
    text = dagforge.explain(specs / "settings.yaml").text
    assert "Deadline:   team_templating:late is called when a run is not done 2 hours after" in text
    assert "Shown as:   Sales — daily" in text
    assert "Templates:  looked up in templates (beside the spec)" in text


def test_verification_compares_every_setting(tmp_path, monkeypatch):
    """A loaded DAG that differs from the spec in a setting is a problem of verification."""
    specs = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert dagforge.build([specs], tmp_path / "out", verify=True).ok
    dag = load_dagbag(tmp_path / "out").dags["settings_demo"]
    p = build_model(load_document(specs / "settings.yaml"), "../specs/settings.yaml")
    expected = verify.expectations(p)
    # (loaded from its output folder, Airflow has read report.sh into bash_command: the task's
    # arguments are not what this test is about)
    expected["tasks"]["report"]["arguments"] = {}
    assert verify._compare(dag, expected) == []
    changes = {
        "dag_display_name": "Sales",
        "owner_links": {},
        "template_searchpath": ["../specs/other"],
        "user_defined_macros": {
            "quarter": "team_templating:shout",
            "REGION": "team_templating:REGION",
        },
        "user_defined_filters": {},
        "is_paused_upon_creation": True,
        "fail_fast": False,
        "deadline": [
            {
                "reference": "dagrun_logical_date",
                "interval": 7200.0,
                "callback": "team_templating.late",
            }
        ],
    }
    for key, value in changes.items():
        changed = {**expected, "settings": {**expected["settings"], key: value}}
        [problem] = verify._compare(dag, changed)
        assert problem.startswith(f"{key} is "), problem


def test_a_macro_that_does_not_exist_is_found_at_its_key(tmp_path, monkeypatch):
    specs = _project(tmp_path, SPEC.replace("team_templating:quarter", "team_templating:quater"))
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([specs], tmp_path / "out", verify=True)
    assert not result.ok
    [d] = [d for d in result.specs[0].diagnostics if d.severity == "error"]
    assert (d.line, d.message) == (
        8,
        "macro 'quarter' (team_templating:quater): module 'team_templating' has no 'quater'",
    )
    assert "quarter" in d.hint


def test_a_filter_must_be_callable(tmp_path, monkeypatch):
    specs = _project(tmp_path, SPEC.replace("team_templating:shout", "team_templating:REGION"))
    monkeypatch.chdir(tmp_path)
    result = dagforge.validate([specs])
    [d] = result.specs[0].diagnostics
    assert d.line == 9 and d.message == "filter 'shout' (team_templating:REGION) is not callable"


def _errors(tmp_path, text, airflow="3"):
    spec = tmp_path / "s.yaml"
    spec.write_text(textwrap.dedent(text).lstrip())
    result = dagforge.build([spec], tmp_path / "out", verify=False, airflow=airflow)
    return [(d.line, d.column, d.message) for d in result.specs[0].diagnostics]


def test_what_a_version_lacks_is_a_located_error_naming_it(tmp_path):
    base = "start_date: 2024-01-01\ntasks:\n  a: {operator: empty}\n"
    deadline = "deadline: {reference: dagrun_logical_date, interval: 1h, callback: m:f}\n"
    [(line, col, message)] = _errors(tmp_path, deadline + base, airflow="2")
    assert (line, col) == (1, 1)
    assert message.startswith("deadline is not available on Airflow 2.10")
    access = "access_control: {analysts: [can_read]}\n"
    [(line, col, message)] = _errors(tmp_path, access + base, airflow="3")
    assert (line, col) == (1, 1)
    assert message.startswith("access_control is not available on Airflow 3")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_template_folders_stay_inside_the_spec_folder_and_exist(tmp_path):
    found = _errors(
        tmp_path,
        """
        start_date: 2024-01-01
        template_searchpath: [/etc, ../up, missing]
        tasks:
          a: {operator: empty}
        """,
    )
    assert [m for _, _, m in found] == [
        "template_searchpath: '/etc' is outside the spec's folder",
        "template_searchpath: '../up' is outside the spec's folder",
        "template_searchpath: 'missing' is not a folder next to the spec",
    ]


def test_fail_fast_refuses_other_trigger_rules_at_the_rule(tmp_path):
    found = _errors(
        tmp_path,
        """
        start_date: 2024-01-01
        fail_fast: true
        tasks:
          a: {operator: empty}
          b: {operator: empty, trigger_rule: all_done, dependencies: [a]}
          g:
            defaults: {trigger_rule: one_success}
            tasks:
              c: {operator: empty}
        """,
    )
    assert [(line, m.split(":")[0]) for line, _, m in found] == [
        (5, "trigger_rule 'all_done' in a DAG with `fail_fast"),
        (7, "trigger_rule 'one_success' in a DAG with `fail_fast"),
    ]


def test_a_deadline_callback_that_does_not_exist_is_found_at_its_line(tmp_path, monkeypatch):
    listed = SPEC.replace(
        "deadline: {reference: dagrun_queued_at, interval: 2h, callback: team_templating:late}",
        "deadline:\n  - reference: dagrun_logical_date\n    interval: 1h\n"
        "    callback: team_templating:lat",
    )
    specs = _project(tmp_path, listed)
    monkeypatch.chdir(tmp_path)
    [d] = dagforge.validate([specs]).specs[0].diagnostics
    assert (d.line, d.column) == (15, 5)  # at its `callback:` key
    assert d.message == (
        "deadline callback 'team_templating:lat': module 'team_templating' has no 'lat'"
    )
    assert "late" in d.hint


def test_a_deadline_callback_takes_keyword_arguments_as_function_forms_do(tmp_path, monkeypatch):
    """`callback: {function: module:function, <kw>}` becomes SyncCallback(function, kwargs={...}):
    Airflow calls it with the run's context and those arguments. The keywords are checked against
    the function's signature; the loaded alert is compared with them."""
    bound = SPEC.replace(
        "callback: team_templating:late}",
        'callback: {function: team_templating:late, channel: "#data", sla: [2, h]}}',
    )
    specs = _project(tmp_path, bound)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = dagforge.build([specs], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    assert (
        'callback=SyncCallback(late, kwargs={"channel": "#data", "sla": [2, "h"]})'
        in result.specs[0].code
    )
    dag = load_dagbag(tmp_path / "out").dags["settings_demo"]
    [alert] = [dag.deadline] if not isinstance(dag.deadline, list) else dag.deadline
    assert alert.callback.kwargs == {"channel": "#data", "sla": [2, "h"]}
    model = build_model(load_document(specs / "settings.yaml"), "../specs/settings.yaml")
    exp = verify.expectations(model)
    # (in this process the loaded bash_command is the template file's text: `build` verified it)
    before = verify._compare(dag, exp)
    assert not [p for p in before if "deadline" in p]
    exp["settings"]["deadline"][0]["kwargs"]["channel"] = "#ops"
    after = verify._compare(dag, exp)
    [problem] = set(after) - set(before)
    assert problem.startswith("deadline is ") and "'#ops'" in problem
    words = dagforge.explain(specs / "settings.yaml").text
    assert "Deadline:   team_templating:late(channel='#data', sla=[2, 'h']) is called" in words

    misspelt = SPEC.replace(
        "callback: team_templating:late}", "callback: {function: team_templating:page, chanel: x}}"
    )
    (specs / "settings.yaml").write_text(textwrap.dedent(misspelt).lstrip())
    [d] = dagforge.validate([specs]).specs[0].diagnostics
    assert d.message == "page(context, channel='#general') has no argument 'chanel'"
    assert d.hint == "did you mean 'channel'?"
    assert (d.line, d.column) == (12, 98)  # at the keyword


def test_a_deadline_callback_binds_plain_values_only(tmp_path):
    found = _errors(
        tmp_path,
        "start_date: 2024-01-01\ntasks:\n  a: {operator: empty}\ndeadline:\n"
        "  reference: dagrun_queued_at\n  interval: 1h\n"
        "  callback: {function: m:f, pager: {object: m.Pager}}\n",
    )
    assert found == [(7, 37, "a deadline callback's arguments are plain values, not `object:`")]


def test_the_model_leaves_no_reference_cycles(tmp_path):
    """A pool worker runs the collector once per spec, over what that spec left: the model's own
    objects (its import references, the nested macros' walk) must be freed when it is dropped."""
    import gc

    from dagforge import structure

    spec = SPEC.replace(
        "REGION: team_templating:REGION}", "dates: {shift: team_templating:quarter}}"
    )
    (tmp_path / "settings.yaml").write_text(spec)
    doc = load_document(tmp_path / "settings.yaml")
    structure.links(structure.nodes(doc.data["tasks"]))  # as validate leaves them for the model
    gc.collect()
    gc.disable()
    try:
        p = build_model(doc)
        assert p.settings.macros["dates.shift"].name == "quarter"
        del p
        assert gc.collect() == 0
    finally:
        gc.enable()

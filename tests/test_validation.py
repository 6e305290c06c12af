"""Each validation rule: a spec with one mistake, the exact line and column, the message and the hint."""

import pytest

import dagforge

HEAD = "start_date: 2024-01-01\n"
TASK = "tasks:\n  a: {operator: bash, bash_command: 'echo a'}\n"

CASES = [
    # (id, spec text, line, column, message, hint)
    ("unknown dependency", HEAD + "tasks:\n  extract: {operator: empty}\n  load:\n    operator: empty\n    dependencies: [extrct]\n",
     6, 20, "task 'load' depends on unknown task 'extrct'", "did you mean 'extract'?"),
    ("self dependency", HEAD + "tasks:\n  a:\n    operator: empty\n    dependencies: [a]\n",
     5, 20, "task 'a' depends on itself", "remove it"),
    ("cycle", HEAD + "tasks:\n  a: {operator: empty, dependencies: [c]}\n  b: {operator: empty, dependencies: [a]}\n  c: {operator: empty, dependencies: [b]}\n",
     None, None, "dependency cycle: ", "cannot loop"),
    ("bad cron", HEAD + "schedule: '0 25 * * *'\n" + TASK, 2, 11, "schedule '0 25 * * *' is not a valid cron expression", "5 fields"),
    ("cron field count", HEAD + "schedule: '0 2 * *'\n" + TASK, 2, 11, "schedule '0 2 * *' has 4 fields, not 5", "minute hour"),
    ("bad preset", HEAD + "schedule: '@dayly'\n" + TASK, 2, 11, "unknown schedule preset '@dayly'", "did you mean '@daily'?"),
    ("bad duration", HEAD + "retry_delay: 5 minutes\n" + TASK, 2, 14, "retry_delay: '5 minutes' is not a duration", "90s, 5m"),
    ("task duration", HEAD + "tasks:\n  a:\n    operator: empty\n    execution_timeout: 1w\n", 5, 24, "execution_timeout: '1w' is not a duration", "1h30m"),
    ("huge duration", HEAD + "dagrun_timeout: 9999999999d\n" + TASK, 2, 17, "too long", "90s"),
    ("bad timezone", HEAD + "timezone: Europe/Berln\n" + TASK, 2, 11, "unknown time zone 'Europe/Berln'", "did you mean 'Europe/Berlin'?"),
    ("bad date", "start_date: 2024-02-30\n" + TASK, 1, 13, "start_date: '2024-02-30' is not a valid date", "2024-01-31"),
    ("end before start", HEAD + "end_date: 2023-01-01\n" + TASK, 2, 11, "end_date is not after start_date", "later"),
    ("bad email", HEAD + "alerts:\n  emails: [ops@example.com, 'ops at example.com']\n" + TASK, 3, 29,
     "'ops at example.com' is not a valid email address", "name@example.com"),
    ("bad task email", HEAD + "tasks:\n  a:\n    operator: empty\n    alerts: {emails: ['x@']}\n", 5, 23, "'x@' is not a valid email address", "name@example.com"),
    ("bad callable", HEAD + "tasks:\n  a:\n    operator: python\n    python_callable: etl.transform.run\n", 5, 22,
     "python_callable 'etl.transform.run' is not a `module:function` reference", "etl.transform:run"),
    ("missing start_date", TASK, 1, 1, "the spec is missing the required key 'start_date'", "start_date: 2024-01-01"),
    ("unknown top key", HEAD + "schedul: '@daily'\n" + TASK, 2, 1, "unknown key 'schedul' in the spec", "did you mean 'schedule'?"),
    ("unknown operator", HEAD + "tasks:\n  a: {operator: bsh, bash_command: x}\n", 3, 17, "unknown operator 'bsh'", "did you mean 'bash'?"),
    ("misspelt argument", HEAD + "tasks:\n  a:\n    operator: bash\n    bash_command: x\n    bash_comand: y\n", 6, 5,
     "unknown key 'bash_comand' in task 'a'", "did you mean 'bash_command'?"),
    ("missing argument", HEAD + "tasks:\n  a:\n    operator: bash\n", 4, 5, "task 'a' is missing the required key 'bash_command'", "operator 'bash' needs"),
    ("email missing subject", HEAD + "tasks:\n  a: {operator: email, to: x@example.com, html_content: hi}\n", 3, 6,
     "task 'a' is missing the required key 'subject'", "operator 'email' needs"),
    ("wrong type", HEAD + "retries: many\n" + TASK, 2, 10, "retries must be a whole number, not text", ""),
    ("yaml boolean", HEAD + "owner: no\n" + TASK, 2, 8, "owner must be text, not a boolean (False)", "in quotes"),
    ("negative retries", HEAD + "retries: -1\n" + TASK, 2, 10, "retries: -1 is less than the minimum of 0", ""),
    ("bad dag_id", "dag_id: 'my dag'\n" + HEAD + TASK, 1, 9, "dag_id 'my dag' has characters Airflow does not allow", "letters, digits"),
    ("bad task id", HEAD + "tasks:\n  'a b': {operator: empty}\n", 3, 3, "'a b' is not a valid name here", "letters, digits"),
    ("no tasks", HEAD + "tasks: {}\n", 2, 8, "tasks is empty", "add at least one task"),
    ("alerts without emails", HEAD + "tasks:\n  a:\n    operator: empty\n    alerts: {on_retry: true}\n", 5, 13,
     "task 'a' has alerts but no one to mail", "emails:"),
    ("python keyword argument", HEAD + "tasks:\n  a: {operator: my.ops.Thing, class: x}\n", 3, 31, "'class' cannot be passed as an operator argument", "Python keyword"),
    ("reserved argument", HEAD + "tasks:\n  a: {operator: my.ops.Thing, task_id: x}\n", 3, 31, "'task_id' cannot be passed as an operator argument", "sets it itself"),
    ("duplicate key", HEAD + "retries: 1\nretries: 2\n" + TASK, 3, 1, "duplicate key 'retries' (first defined at line 2)", "keeps only the last"),
    ("python tag", HEAD + "description: !!python/object/apply:os.system ['echo pwned']\n" + TASK, 2, 14,
     "YAML tag '!!python/object/apply:os.system' is not allowed", "plain values"),
    ("tab indentation", HEAD + "tasks:\n\ta: {operator: empty}\n", 3, 1, "a tab is used for indentation", "spaces"),
    ("empty file", "", 1, 1, "file is empty", "start_date"),
    ("top-level list", "- a\n- b\n", 1, 1, "the spec is a list, not a mapping of keys", "key: value"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule(write_spec, case):
    _, text, line, col, message, hint = case
    result = dagforge.validate([write_spec(text)])
    assert not result.ok
    found = [d for d in result.specs[0].diagnostics if message in d.message]
    assert found, [d.message for d in result.specs[0].diagnostics]
    d = found[0]
    if line is not None:
        assert (d.line, d.column) == (line, col), d.format()
    assert hint in d.hint
    assert d.format().startswith(f"{d.path}:{d.line}:{d.column}: error: ")


def test_cycle_names_the_path_and_its_line(write_spec):
    text = HEAD + "tasks:\n  a: {operator: empty, dependencies: [c]}\n  b: {operator: empty, dependencies: [a]}\n  c: {operator: empty, dependencies: [b]}\n"
    [d] = [d for d in dagforge.validate([write_spec(text)]).specs[0].diagnostics]
    chain = d.message.removeprefix("dependency cycle: ").split(" -> ")
    assert chain[0] == chain[-1] and sorted(chain[:-1]) == ["a", "b", "c"]
    # it points at the dependency entry that names the first task of the chain in the second one's list
    upstream, task = chain[0], chain[1]
    line = text.splitlines()[d.line - 1]
    assert line.startswith(f"  {task}:") and line[d.column - 1:].startswith(upstream)


def test_all_problems_of_a_spec_at_once(write_spec):
    text = (HEAD + "schedule: '61 * * * *'\ntimezone: Mars/Olympus\nretry_delay: soon\n"
            "tasks:\n  a: {operator: bash}\n  b: {operator: empty, dependencies: [z]}\n")
    diags = dagforge.validate([write_spec(text)]).specs[0].diagnostics
    assert [d.line for d in diags] == [2, 3, 4, 6, 7]


def test_duplicate_dag_id_names_both_files(write_spec):
    a = write_spec("dag_id: same\n" + HEAD + TASK, "a.yaml")
    b = write_spec("dag_id: same\n" + HEAD + TASK, "b.yaml")
    result = dagforge.validate([a.parent])
    messages = {s.display.rsplit("/", 1)[-1]: [d.message for d in s.diagnostics] for s in result.specs}
    assert any("also used by" in m and "b.yaml" in m for m in messages["a.yaml"])
    assert any("also used by" in m and "a.yaml" in m for m in messages["b.yaml"])


def test_default_dag_id_is_the_file_name(write_spec):
    result = dagforge.validate([write_spec(HEAD + TASK, "my pipeline.yaml")])
    [d] = result.specs[0].diagnostics
    assert "the file name 'my pipeline' is not a valid dag_id" in d.message


def test_a_valid_spec_has_no_diagnostics(write_spec):
    result = dagforge.validate([write_spec(HEAD + TASK)])
    assert result.ok and result.specs[0].diagnostics == []

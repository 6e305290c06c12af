"""Each validation rule: a spec with one mistake, the exact line and column, the message and the hint."""

from pathlib import Path

import pytest
from conftest import run_cli, run_main

import dagforge
from dagforge.diagnostics import visible

HEAD = "start_date: 2024-01-01\n"
TASK = "tasks:\n  a: {operator: bash, bash_command: 'echo a'}\n"
BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def _expectation(path: Path) -> tuple[str, str]:
    """The first two lines of a broken spec: `# expect: LINE:COL: error: MESSAGE` and `# hint-contains: TEXT`."""
    lines = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").splitlines()
    return lines[0].removeprefix("# expect: "), lines[1].removeprefix("# hint-contains: ")


def test_the_corpus_is_large():
    assert len(BROKEN) >= 30


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec(path):
    expected, hint = _expectation(path)
    result = dagforge.validate([path])
    [spec] = result.specs
    assert not spec.ok and spec.internal_error is None
    found = {f"{d.line}:{d.column}: {d.severity}: {d.message}": d for d in spec.diagnostics}
    assert expected in found, list(found)
    d = found[expected]
    assert hint in d.hint
    formatted = d.format(spec.source_lines)
    assert formatted.startswith(f"{d.path}:{expected}")
    if d.line and spec.source_lines:  # the offending line (escaped), then a caret under the column
        shown, caret = formatted.splitlines()[1:3]
        line = spec.source_lines[d.line - 1]
        assert shown.endswith(visible(line))
        assert caret.index("^") == shown.index("|") + 2 + len(visible(line[: d.column - 1]))


def test_the_whole_corpus_through_the_cli(tmp_path):
    r = run_main("validate", *BROKEN, cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert f"0 specs valid, {len(BROKEN)} invalid" in r.stderr
    for path in BROKEN:
        assert f"{_expectation(path)[0]}" in r.stderr


def test_cycle_names_the_path_and_its_line(write_spec):
    text = (
        HEAD
        + "tasks:\n  a: {operator: empty, dependencies: [c]}\n  b: {operator: empty, dependencies: [a]}\n  c: {operator: empty, dependencies: [b]}\n"
    )
    [d] = [d for d in dagforge.validate([write_spec(text)]).specs[0].diagnostics]
    chain = d.message.removeprefix("dependency cycle: ").split(" -> ")
    assert chain[0] == chain[-1] and sorted(chain[:-1]) == ["a", "b", "c"]
    # it points at the dependency entry that names the first task of the chain in the second one's list
    upstream, task = chain[0], chain[1]
    line = text.splitlines()[d.line - 1]
    assert line.startswith(f"  {task}:") and line[d.column - 1 :].startswith(upstream)


def test_all_problems_of_a_spec_at_once(write_spec):
    text = (
        HEAD + "schedule: '61 * * * *'\ntimezone: Mars/Olympus\nretry_delay: soon\n"
        "tasks:\n  a: {operator: bash}\n  b: {operator: empty, dependencies: [z]}\n"
    )
    diags = dagforge.validate([write_spec(text)]).specs[0].diagnostics
    assert [d.line for d in diags] == [2, 3, 4, 6, 7]


def test_duplicate_dag_id_names_both_files(write_spec):
    a = write_spec("dag_id: same\n" + HEAD + TASK, "a.yaml")
    write_spec("dag_id: same\n" + HEAD + TASK, "b.yaml")
    result = dagforge.validate([a.parent])
    messages = {
        s.display.rsplit("/", 1)[-1]: [d.message for d in s.diagnostics] for s in result.specs
    }
    assert any("also used by" in m and "b.yaml" in m for m in messages["a.yaml"])
    assert any("also used by" in m and "a.yaml" in m for m in messages["b.yaml"])


def test_default_dag_id_is_the_file_name(write_spec):
    result = dagforge.validate([write_spec(HEAD + TASK, "my pipeline.yaml")])
    [d] = result.specs[0].diagnostics
    assert "the file name 'my pipeline' is not a valid dag_id" in d.message


def test_a_valid_spec_has_no_diagnostics(write_spec):
    result = dagforge.validate([write_spec(HEAD + TASK)])
    assert result.ok and result.specs[0].diagnostics == []


VALUES = sorted(p for p in BROKEN if p.stem.startswith("values_"))


def test_values_corpus_through_the_cli(tmp_path):
    """Values validation let through, to fail in the DagBag or crash later: located errors now."""
    assert len(VALUES) >= 20
    r = run_main("validate", *VALUES, cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert f"0 specs valid, {len(VALUES)} invalid" in r.stderr


def test_a_task_id_past_250_characters_with_its_group(write_spec):
    text = HEAD + f"tasks:\n  {'g' * 200}:\n    tasks:\n      {'t' * 60}: {{operator: empty}}\n"
    [d] = dagforge.validate([write_spec(text)]).specs[0].diagnostics
    assert (d.line, d.column) == (5, 7)
    assert d.message == f"task id '{'g' * 200}.{'t' * 60}' is longer than Airflow's 250 characters"


def test_a_time_the_clock_shows_twice_is_a_warning(write_spec):
    text = "start_date: 2024-10-27T02:30\ntimezone: Europe/Berlin\n" + TASK
    result = dagforge.validate([write_spec(text)])
    [d] = result.specs[0].diagnostics
    assert result.ok and d.severity == "warning" and (d.line, d.column) == (1, 13)
    assert "happens twice in Europe/Berlin (the clocks go back from 03:00 to 02:00)" in d.message


@pytest.mark.parametrize(
    "text",
    [
        "schedule: 1s\n",
        "schedule: 3650d\n",
        "schedule: 315360000\n",
        "schedule: '0 0 29 2 *'\n",  # every leap year
        "schedule: '0 0 31 2 1'\n",  # day of month and of week given: cron runs on either
        "schedule: '0 0 L 2 *'\n",
        "schedule: '0 0 31 * *'\n",
        "timezone: Europe/Berlin\nend_date: 2024-03-31T03:00\n",
        "end_date: 9999-12-30\n",
        "max_active_runs: 2147483647\nretries: 2147483647\n",
        "params:\n  n: {type: integer, default: 1, minimum: 0.5}\n",
    ],
)
def test_values_at_the_limits_are_valid(write_spec, text):
    result = dagforge.validate([write_spec(HEAD + text + TASK)])
    assert result.ok and result.specs[0].diagnostics == [], result.specs[0].diagnostics


def test_the_deepest_groups_allowed_and_the_widest_numbers(write_spec):
    tasks, indent = "tasks:\n", "  "
    for i in range(15):
        tasks += f"{indent}g{i}:\n{indent}  tasks:\n"
        indent += "    "
    tasks += (
        f"{indent}t: {{operator: empty, priority_weight: -2147483648, pool_slots: 2147483647}}\n"
    )
    result = dagforge.validate([write_spec(HEAD + tasks)])
    assert result.ok and result.specs[0].diagnostics == []


def test_values_at_the_limits_build_and_load_in_airflow(write_spec, tmp_path):
    """What validation lets through at its limits, Airflow's DagBag loads as the spec says."""
    tasks = (
        "tasks:\n  a: {operator: empty, priority_weight: -2147483648, pool_slots: 2147483647,"
        " retries: 2147483647}\n  b: {operator: empty, priority_weight: 2147483647}\n"
    )
    specs = {
        "every_second": "start_date: 2024-01-01\nschedule: 1s\n",
        "every_ten_years": "start_date: 2024-01-01\nschedule: 3650d\nmax_active_runs: 2147483647\n",
        "leap_day": "start_date: 2024-01-01\nschedule: '0 0 29 2 *'\n",
        "last_day": "start_date: 2024-01-01\nend_date: 9999-12-30\nschedule: '@daily'\n",
        "first_day": "start_date: 0001-01-02\nschedule: '@daily'\n",
        "twice": "start_date: 2024-10-27T02:30\ntimezone: Europe/Berlin\nschedule: '@daily'\n",
        "deep": "start_date: 2024-01-01\n"
        + "".join(f"{'    ' * i}  g{i}:\n{'    ' * i}    tasks:\n" for i in range(15)).replace(
            "  g0:", "tasks:\n  g0:", 1
        )
        + f"{'    ' * 15}  t: {{operator: empty}}\n",
    }
    for name, text in specs.items():
        write_spec(text + (tasks if name != "deep" else ""), f"{name}.yaml")
    r = run_cli("build", "specs", "-o", "out", "--verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{len(specs)} built, 0 invalid; {len(specs)} verified with Airflow's DagBag" in r.stderr


def test_names_with_a_line_break_stay_on_the_message_line(write_spec):
    text = HEAD + 'tasks:\n  a: {operator: empty}\n  b: {operator: empty, dependencies: ["a\\n"]}\n'
    [d] = dagforge.validate([write_spec(text)]).specs[0].diagnostics
    assert d.message == "task 'b' depends on unknown task 'a\\n'" and (d.line, d.column) == (4, 39)


def test_groups_nested_far_too_deep_are_one_error(write_spec):
    tasks, indent = "tasks:\n", "  "
    for i in range(45):  # 90 YAML levels: under load's limit of 100, far over the groups' 15
        tasks += f"{indent}g{i}:\n{indent}  tasks:\n"
        indent += "    "
    tasks += f"{indent}t: {{operator: empty}}\n"
    [d] = dagforge.validate([write_spec(HEAD + tasks)]).specs[0].diagnostics
    assert d.message.endswith("g14.g15' is nested 16 groups deep") and d.line == 33

"""One spec, two Airflow versions: `--airflow 2|3`, its default from pyproject.toml, explicit
timetables, and what `build` says when the installed Airflow is not the target (Airflow 3 here).

The loading of `--airflow 2` output by a real Airflow 2.10 is in tests/airflow2/, run in its own venv.
"""

import difflib
import re

import pytest
from conftest import ROOT, load_dagbag, run_cli
from spec_oracle import timetable_facts

import dagforge

GOOD = """
start_date: 2024-01-01
schedule: "0 2 * * *"
timezone: Asia/Seoul
tasks:
  hello: {operator: bash, bash_command: "echo hello"}
"""
# Every kind of schedule, and what the loaded DAG shows for it on each version:
# (timetable class on Airflow 3, on Airflow 2.10, its cron expression or its seconds).
SCHEDULES = {
    "null": ("NullTimetable", "NullTimetable", None),
    "'@once'": ("OnceTimetable", "OnceTimetable", None),
    "'@hourly'": ("CronTriggerTimetable", "CronTriggerTimetable", "0 * * * *"),
    "'@daily'": ("CronTriggerTimetable", "CronTriggerTimetable", "0 0 * * *"),
    "'@weekly'": ("CronTriggerTimetable", "CronTriggerTimetable", "0 0 * * 0"),
    "'@monthly'": ("CronTriggerTimetable", "CronTriggerTimetable", "0 0 1 * *"),
    "'@yearly'": ("CronTriggerTimetable", "CronTriggerTimetable", "0 0 1 1 *"),
    "'30 2 * * 1-5'": ("CronTriggerTimetable", "CronTriggerTimetable", "30 2 * * 1-5"),
    "90m": ("DeltaTriggerTimetable", "DeltaDataIntervalTimetable", 5400.0),
}


def write_schedule_specs(folder):
    """One spec per kind of schedule, in Europe/Berlin; returns {dag_id: SCHEDULES row}."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for i, (schedule, row) in enumerate(SCHEDULES.items()):
        (folder / f"sched_{i}.yaml").write_text(
            f"start_date: 2024-03-01\ntimezone: Europe/Berlin\nschedule: {schedule}\n"
            "tasks:\n  t: {operator: empty}\n"
        )
        expected[f"sched_{i}"] = row
    return expected


def build_and_check_schedules(tmp_path, airflow: str):
    """Build one spec per kind of schedule for `airflow`, verified by the installed (same) version, and
    check the loaded timetables against SCHEDULES. Returns the BuildResult."""
    expected = write_schedule_specs(tmp_path / "specs")
    result = dagforge.build([tmp_path / "specs"], tmp_path / "out", verify=True, airflow=airflow)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not bag.captured_warnings
    for dag_id, row in expected.items():
        cls, definition = row[0 if airflow == "3" else 1], row[2]
        name, found, tz = timetable_facts(bag.dags[dag_id].timetable)
        assert (name, found) == (cls, definition), dag_id
        assert tz == ("Europe/Berlin" if cls == "CronTriggerTimetable" else None)
    return result


def test_schedules_load_as_explicit_timetables_on_airflow_3(tmp_path):
    result = build_and_check_schedules(tmp_path, "3")
    assert not [d for s in result.specs for d in s.diagnostics]  # no warning for Airflow 3


def _one_line_imports(code: str) -> list[str]:
    """The lines of `code`, an import that black wrapped in parentheses as one line."""
    return re.sub(
        r"import \(\n([^)]*)\)", lambda m: "import " + " ".join(m[1].split()), code
    ).splitlines()


def test_the_two_targets_differ_only_in_imports_the_schedule_line_and_the_hashes(tmp_path):
    three = dagforge.build([ROOT / "specs"], tmp_path / "3", verify=False)
    two = dagforge.build([ROOT / "specs"], tmp_path / "2", verify=False, airflow="2")
    assert three.ok and two.ok
    for a, b in zip(three.specs, two.specs, strict=True):
        changed = [
            d
            for d in difflib.ndiff(_one_line_imports(a.code), _one_line_imports(b.code))
            if d[:2] in ("- ", "+ ")
        ]
        assert changed
        for line in changed:
            # the header's input hashes cover the target, and the output hash the file itself; an
            # asset is an Asset on Airflow 3 and a Dataset on 2.10
            hashes = ("# input-sha256: ", "# inputs-sha256: ", "# output-sha256: ")
            assert line[2:].startswith(("from airflow", "    schedule=", *hashes)) or re.search(
                r"\b(Asset|Dataset)\(", line
            ), line


def test_airflow_2_code_uses_the_2_10_homes(tmp_path):
    result = dagforge.build([ROOT / "specs"], tmp_path, verify=False, airflow=2)
    code = {s.pipeline.dag_id: s.code for s in result.specs}
    for text in code.values():
        assert "\nfrom airflow import DAG\n" in text
        assert "airflow.sdk" not in text and "airflow.providers.standard" not in text
        for deprecated in ("email=", "email_on_failure", "email_on_retry", "schedule_interval"):
            assert deprecated not in text
    assert "from airflow.timetables.trigger import CronTriggerTimetable\n" in code["etl_orders"]
    assert (
        'schedule=CronTriggerTimetable("30 1 * * *", timezone="Europe/Berlin")'
        in code["etl_orders"]
    )
    assert (
        'schedule=CronTriggerTimetable("@weekly", timezone="America/New_York")'
        in code["mlops_churn_model"]
    )
    assert (
        "from airflow.timetables.interval import DeltaDataIntervalTimetable\n"
        in code["infra_housekeeping"]
    )
    assert "schedule=DeltaDataIntervalTimetable(timedelta(hours=6))" in code["infra_housekeeping"]
    # `deploy` names the Airflow 3 home of BashOperator in full: written as its 2.10 home
    assert "from airflow.operators.bash import BashOperator\n" in code["mlops_churn_model"]
    assert (
        "from airflow.providers.smtp.operators.smtp import EmailOperator\n"
        in code["sales_report_weekdays"]
    )
    assert "from airflow.providers.smtp.hooks.smtp import SmtpHook" in code["mlops_churn_model"]


def test_a_duration_warns_on_airflow_2_only(tmp_path):
    # (and ml_fraud_training's virtualenv task: Airflow 2.10 needs the virtualenv package to parse it)
    for airflow, warned in (("3", []), ("2", ["infra_housekeeping", "ml_fraud_training"])):
        result = dagforge.build([ROOT / "specs"], tmp_path / airflow, verify=False, airflow=airflow)
        assert result.ok
        warnings = [(s.pipeline.dag_id, d) for s in result.specs for d in s.diagnostics]
        assert [dag_id for dag_id, _ in warnings] == warned
    d = warnings[0][1]
    assert (d.severity, d.line, d.column) == ("warning", 7, 11)
    assert "DeltaDataIntervalTimetable" in d.message and "one duration" in d.message
    assert "cron" in d.hint


def test_the_airflow_2_path_of_an_operator_is_written_as_its_airflow_3_home(tmp_path):
    spec = tmp_path / "paths.yaml"
    spec.write_text(
        "start_date: 2024-01-01\ntasks:\n"
        "  a: {operator: airflow.operators.bash.BashOperator, bash_command: 'echo a'}\n"
        "  b: {operator: airflow.operators.empty.EmptyOperator, dependencies: [a]}\n"
    )
    result = dagforge.build(
        [spec], tmp_path / "out", verify=True
    )  # Airflow 3 would warn on the 2.x homes
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    dag = load_dagbag(tmp_path / "out").dags["paths"]
    assert type(dag.task_dict["a"]).__module__ == "airflow.providers.standard.operators.bash"


def test_names_of_timetables_are_never_taken_by_tasks_or_callables(tmp_path, monkeypatch):
    (tmp_path / "clash.py").write_text(
        "def CronTriggerTimetable():\n    return 1\n\n\ndef DAG():\n    return 2\n"
    )
    spec = tmp_path / "specs" / "clash.yaml"
    spec.parent.mkdir()
    spec.write_text(
        "start_date: 2024-01-01\nschedule: '0 3 * * *'\ntasks:\n"
        "  CronTriggerTimetable: {operator: python, python_callable: 'clash:CronTriggerTimetable'}\n"
        "  DeltaTriggerTimetable: {operator: python, python_callable: 'clash:DAG'}\n"
        "  DeltaDataIntervalTimetable: {operator: empty}\n"
    )
    monkeypatch.chdir(tmp_path)
    for airflow in ("3", "2"):
        result = dagforge.build([spec], tmp_path / airflow, verify=airflow == "3", airflow=airflow)
        assert result.ok, [d.format() for d in result.specs[0].diagnostics]
        assert (
            # isort's order: CONSTANTS (DAG) before Classes
            "from clash import DAG as clash_DAG\n"
            "from clash import CronTriggerTimetable as clash_CronTriggerTimetable\n"
            in result.specs[0].code
        )
        compile(result.specs[0].code, "clash.py", "exec")


def test_unknown_target_is_refused_by_the_api(tmp_path):
    with pytest.raises(ValueError, match=r"Airflow 2 .2.10. or 3"):
        dagforge.build([ROOT / "specs"], tmp_path, verify=False, airflow="2.11")


# ---- the command line ------------------------------------------------------------------------------


def _dag_import(path):
    text = path.read_text()
    return (
        "2"
        if "\nfrom airflow import DAG\n" in text
        else "3"
        if "airflow.sdk import" in text
        else "?"
    )


def test_airflow_2_build_with_airflow_3_installed_says_so(tmp_path, write_spec):
    write_spec(GOOD)
    r = run_cli("build", "specs", "-o", "out", "--airflow", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "dagforge: warning: not verified: the installed Airflow is 3." in r.stderr
    assert "but the files are written for Airflow 2.10" in r.stderr
    assert "1 built, 0 invalid; not verified (the installed Airflow is 3." in r.stderr
    assert _dag_import(tmp_path / "out" / "pipe.py") == "2"
    # --verify insists: one error line, exit 2, nothing written, and the summary says so
    r = run_cli("build", "specs", "-o", "out2", "--airflow", "2", "--verify", cwd=tmp_path)
    assert r.returncode == 2
    [error, summary] = r.stderr.splitlines()
    assert error.startswith("dagforge: error: cannot verify: the installed Airflow is 3.")
    assert "nothing was written" in error
    assert summary.startswith("0 built, 1 valid but not written, 0 invalid; not verified (the")
    assert not (tmp_path / "out2").exists()


def test_target_from_the_nearest_pyproject_and_the_flag_wins(tmp_path, write_spec):
    write_spec(GOOD)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "pipes"\n\n[tool.dagforge]\nairflow = "2"\n'
    )
    assert run_cli("build", "specs", "-o", "a", "--no-verify", cwd=tmp_path).returncode == 0
    assert _dag_import(tmp_path / "a" / "pipe.py") == "2"
    assert (
        run_cli(
            "build", "specs", "-o", "b", "--no-verify", "--airflow", "3", cwd=tmp_path
        ).returncode
        == 0
    )
    assert _dag_import(tmp_path / "b" / "pipe.py") == "3"
    sub = tmp_path / "sub"
    sub.mkdir()  # no pyproject.toml here: the one above counts
    assert run_cli("build", "../specs", "-o", "c", "--no-verify", cwd=sub).returncode == 0
    assert _dag_import(sub / "c" / "pipe.py") == "2"
    (sub / "pyproject.toml").write_text(
        "[tool.black]\nline-length = 100\n"
    )  # the nearest one, without a setting
    assert run_cli("build", "../specs", "-o", "d", "--no-verify", cwd=sub).returncode == 0
    assert _dag_import(sub / "d" / "pipe.py") == "3"
    (sub / "pyproject.toml").write_text("[tool.dagforge]\nairflow = 2\n")  # a number is fine too
    assert run_cli("build", "../specs", "-o", "e", "--no-verify", cwd=sub).returncode == 0
    assert _dag_import(sub / "e" / "pipe.py") == "2"


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '[tool.dagforge]\nairflow = "2.10"\n',
            '[tool.dagforge] airflow must be "2" or "3", not \'2.10\'',
        ),
        (
            "[tool.dagforge]\nairflow = true\n",
            '[tool.dagforge] airflow must be "2" or "3", not True',
        ),
        ("[tool.dagforge\nairflow = 2\n", "cannot read it: "),
    ],
)
def test_a_bad_setting_is_a_usage_error(tmp_path, write_spec, content, message):
    write_spec(GOOD)
    (tmp_path / "pyproject.toml").write_text(content)
    r = run_cli("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 2
    assert f"dagforge: error: {tmp_path / 'pyproject.toml'}: {message}" in r.stderr
    assert not (tmp_path / "out").exists()
    assert run_cli("build", "specs", "--airflow", "4", cwd=tmp_path).returncode == 2


def test_readme_switch_is_one_flag(tmp_path, write_spec):
    """The README's example: the same specs, rebuilt for the other version by changing one flag."""
    write_spec(GOOD)
    for airflow in ("2", "3"):
        r = run_cli(
            "build", "specs", "-o", "dags", "--no-verify", "--airflow", airflow, cwd=tmp_path
        )
        assert r.returncode == 0, r.stderr
        assert _dag_import(tmp_path / "dags" / "pipe.py") == airflow


def test_options_carry_the_target_itself_and_cannot_change():
    import dataclasses
    from pathlib import Path

    from dagforge import targets
    from dagforge.options import Options

    options = Options.of("2", "out", force=True)
    assert options.target is targets.TARGETS["2"] and options.output == Path("out")
    assert targets.target(options.target) is options.target  # never looked up again
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.force = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown Airflow version"):
        Options.of("4")

"""defaults.yaml: shared defaults for the specs below a folder (nearest wins, lists replace, mappings merge)."""

from conftest import load_dagbag, run_main

import dagforge


def _tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs" / "team").mkdir(parents=True)
    (tmp_path / "specs" / "defaults.yaml").write_text(
        "owner: data-eng\nretries: 2\ntags: [shared]\nalerts:\n  emails: [ops@example.com]\n  on_retry: true\n"
    )
    (tmp_path / "specs" / "team" / "defaults.yaml").write_text(
        "retries: 4\ntags: [team]\nalerts:\n  on_retry: false\n"
    )
    (tmp_path / "specs" / "team" / "pipe.yaml").write_text(
        "start_date: 2024-01-01\ntags: [own]\ntasks:\n  a: {operator: empty}\n"
    )
    (tmp_path / "specs" / "top.yaml").write_text(
        "start_date: 2024-01-01\ntasks:\n  a: {operator: empty}\n"
    )
    return tmp_path / "specs"


def test_nearest_wins_lists_replace_mappings_merge(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    result = dagforge.build([specs], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    assert len(result.specs) == 2  # the defaults files are not specs
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    pipe, top = bag.dags["pipe"], bag.dags["top"]
    assert pipe.tags == {"own"} and top.tags == {"shared"}
    a = pipe.task_dict["a"]
    assert (a.owner, a.retries) == ("data-eng", 4)
    assert [cb.to for cb in a.on_failure_callback] == [
        ["ops@example.com"]
    ] and not a.on_retry_callback
    b = top.task_dict["a"]
    assert b.retries == 2 and [cb.to for cb in b.on_retry_callback] == [["ops@example.com"]]


def test_explain_says_where_each_value_came_from(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    text = dagforge.explain(specs / "team" / "pipe.yaml").text
    lines = {
        line.split()[0]: line
        for line in text.split("come from")[1].split("\n\n")[0].splitlines()[1:]
    }
    assert lines["owner"].endswith("'data-eng'  (specs/defaults.yaml:1)")
    assert lines["retries"].endswith("4  (specs/team/defaults.yaml:1)")
    assert lines["tags"].endswith("['own']  (specs/team/pipe.yaml:2)")
    assert lines["alerts.emails"].endswith("(specs/defaults.yaml:5)")
    assert lines["alerts.on_retry"].endswith("False  (specs/team/defaults.yaml:4)")


def test_a_changed_defaults_file_rebuilds_and_a_broken_one_is_reported_in_itself(
    tmp_path, monkeypatch
):
    specs = _tree(tmp_path, monkeypatch)
    dagforge.build([specs], tmp_path / "out", verify=False)
    assert all(s.up_to_date for s in dagforge.build([specs], tmp_path / "out", verify=False).specs)
    (specs / "team" / "defaults.yaml").write_text("retries: 5\n")
    again = dagforge.build([specs], tmp_path / "out", verify=False)
    assert [s.up_to_date for s in again.specs] == [False, True]  # team/pipe.yaml, top.yaml
    (specs / "team" / "defaults.yaml").write_text("retries: 5\nretry_dealy: 1m\ntasks: {}\n")
    r = run_main("validate", "specs", cwd=tmp_path)
    assert r.returncode == 1
    # named as the defaults file, with its own line under the message (not the spec's line 2)
    assert (
        "specs/team/defaults.yaml:2:1: error: unknown key 'retry_dealy' in the defaults file\n"
        "  2 | retry_dealy: 1m\n"
        "      ^\n"
        "  hint: did you mean 'retry_delay'?\n"
    ) in r.stderr
    assert (
        "specs/team/defaults.yaml:3:1: error: unknown key 'tasks' in the defaults file\n  3 | tasks: {}\n"
        in r.stderr
    )
    assert "1 spec valid, 1 invalid" in r.stderr


def test_a_defaults_file_that_does_not_load_shows_its_own_line(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    (specs / "team" / "defaults.yaml").write_text("retries: 5\n  retry_delay: 1m\n")
    r = run_main("validate", "specs", cwd=tmp_path)
    assert r.returncode == 1
    assert "specs/team/defaults.yaml:2:14: error: invalid YAML" in r.stderr
    assert "\n  2 |   retry_delay: 1m\n" in r.stderr and "bad indentation" in r.stderr


def test_a_defaults_file_given_by_name_means_the_specs_below_it(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    (specs / "team" / "defaults.yaml").write_text("retries: -1\n")
    r = run_main(
        "validate", "specs/team/defaults.yaml", cwd=tmp_path
    )  # as the pre-commit hook passes a changed file
    assert r.returncode == 1
    assert (
        "specs/team/defaults.yaml:1:10: error: retries: -1 is less than the minimum of 0"
        in r.stderr
    )
    assert "0 specs valid, 1 invalid" in r.stderr  # team/pipe.yaml, the one spec below it

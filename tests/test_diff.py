"""`dagforge diff --base REF`: real git repositories with real commits, compared through the model."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import run_main

from dagforge.cli import main

DAGFORGE = Path(sys.executable).parent / "dagforge"
AFTER = "2099-12-31T00:00"  # before every start date below: the next runs are always the same

BASE = """\
owner: data-eng
schedule: "0 2 * * *"
start_date: 2100-01-01
tags: [sales, etl]
alerts:
  emails: [a@example.com]
tasks:
  extract:
    operator: bash
    bash_command: ./extract.sh
  transform:
    operator: bash
    bash_command: ./transform.sh
    dependencies: [extract]
    retries: 2
  load:
    operator: bash
    bash_command: ./load.sh
    dependencies: [transform]
"""


class Repo:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")

    def git(self, *args: str) -> str:
        env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=self.root,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def commit(self, message: str = "change") -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    r = Repo(tmp_path)
    r.write("specs/sales.yaml", BASE)
    r.commit("base")
    monkeypatch.chdir(tmp_path)
    return r


def diff(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["diff", "--base", "HEAD", "--after", AFTER, *args])
    out, err = capsys.readouterr()
    return code, out, err


def changes(capsys, *args: str) -> set[tuple]:
    code, out, _ = diff(capsys, "--format", "json", *args)
    doc = json.loads(out)
    assert code == (1 if doc["changed"] else 0)
    return {
        (dag["dag_id"], c["kind"], c["key"], c["task"], c["before"], c["after"])
        for dag in doc["dags"]
        for c in dag["changes"]
    }


def test_nothing_changed_is_exit_0_and_silent(repo, capsys):
    assert diff(capsys) == (
        0,
        "",
        "dagforge diff against HEAD: 0 DAGs changed, 0 DAGs added, 0 DAGs removed\n",
    )


def test_each_kind_of_change(repo, capsys):
    repo.write(
        "specs/sales.yaml",
        """\
        owner: analytics
        schedule: "0 2 * * *"
        start_date: 2100-02-01
        end_date: 2101-01-01
        catchup: true
        tags: [sales, finance]
        alerts:
          emails: [a@example.com, b@example.com]
          on_retry: true
        tasks:
          extract:
            operator: bash
            bash_command: ./extract.sh --all
            execution_timeout: 30m
          transform:
            operator: bash
            bash_command: ./transform.sh
            dependencies: [extract]
            retries: 3
            retry_delay: 1m
            trigger_rule: all_done
            pool: heavy
          publish:
            operator: empty
            dependencies: [extract]
        """,
    )
    got = changes(capsys)
    task = lambda t, key, before, after: ("sales", "setting", key, t, before, after)  # noqa: E731
    expected = {
        ("sales", "setting", "owner", None, "'data-eng'", "'analytics'"),
        ("sales", "setting", "start_date", None, "2100-01-01 00:00 UTC", "2100-02-01 00:00 UTC"),
        ("sales", "setting", "end_date", None, "none", "2101-01-01 00:00 UTC"),
        ("sales", "setting", "catchup", None, "false", "true"),
        ("sales", "setting", "tags", None, "etl", None),
        ("sales", "setting", "tags", None, None, "finance"),
        ("sales", "setting", "alerts.on_failure", None, None, "b@example.com"),
        ("sales", "setting", "alerts.on_retry", None, None, "a@example.com"),
        ("sales", "setting", "alerts.on_retry", None, None, "b@example.com"),
        ("sales", "task", "removed", "load", "load", None),
        ("sales", "task", "added", "publish", None, "publish"),
        ("sales", "edge", "removed", None, "transform >> load", None),
        ("sales", "edge", "added", None, None, "extract >> publish"),
        ("sales", "argument", "bash_command", "extract", "'./extract.sh'", "'./extract.sh --all'"),
        task("extract", "execution_timeout", "none", "30 minutes"),
        task("transform", "retries", "2", "3"),
        task("transform", "retry_delay", "5 minutes", "1 minute"),
        task("transform", "trigger_rule", None, "'all_done'"),
        task("transform", "pool", None, "'heavy'"),
    }
    for t in ("extract", "transform"):  # every task mails the new recipient, and on retries
        expected |= {
            task(t, "alerts.on_failure", None, "b@example.com"),
            task(t, "alerts.on_retry", None, "a@example.com"),
            task(t, "alerts.on_retry", None, "b@example.com"),
        }
    assert got == expected
    assert not list(repo.root.glob("dagforge-diff-*"))


def test_a_schedule_change_in_words_with_the_runs_that_appear_and_disappear(repo, capsys):
    repo.write("specs/sales.yaml", BASE.replace('"0 2 * * *"', '"0 2 * * 1-5"'))
    code, out, _ = diff(capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "sales (specs/sales.yaml): changed"
    assert lines[1] == (
        "  schedule: At 02:00, UTC (cron '0 2 * * *') -> At 02:00, Monday through Friday, UTC "
        "(cron '0 2 * * 1-5')"
    )
    # 2100-01-01 is a Friday: the weekend's runs go, no run comes that was not there
    assert lines[2] == (
        "    runs that disappear: Sat 2100-01-02 02:00 UTC (+00:00), Sun 2100-01-03 02:00 UTC (+00:00)"
    )
    assert len(lines) == 3
    code, out, _ = diff(capsys, "--format", "json")
    doc = json.loads(out)
    assert {k: v for k, v in doc.items() if k != "dagforge"} == {
        "base": "HEAD",
        "changed": True,
        "summary": "against HEAD: 1 DAG changed, 0 DAGs added, 0 DAGs removed",
        "invalid": [],
        "dags": [
            {
                "dag_id": "sales",
                "status": "changed",
                "spec": "specs/sales.yaml",
                "changes": [
                    {
                        "kind": "setting",
                        "key": "schedule",
                        "task": None,
                        "before": "At 02:00, UTC (cron '0 2 * * *')",
                        "after": "At 02:00, Monday through Friday, UTC (cron '0 2 * * 1-5')",
                        "file": "specs/sales.yaml",
                        "line": 2,
                    }
                ],
                "runs_added": [],
                "runs_removed": ["2100-01-02T02:00:00+00:00", "2100-01-03T02:00:00+00:00"],
            }
        ],
    }
    (dag,) = doc["dags"]
    assert dag["runs_added"] == []
    assert dag["runs_removed"] == ["2100-01-02T02:00:00+00:00", "2100-01-03T02:00:00+00:00"]


def test_a_renamed_task_is_one_change_and_its_edges_follow_it(repo, capsys):
    spec = BASE.replace("  extract:", "  fetch:").replace("[extract]", "[fetch]")
    repo.write("specs/sales.yaml", spec)
    assert changes(capsys) == {("sales", "task", "renamed", "fetch", "extract", "fetch")}
    # renamed with another setting changed: still a rename (same operator and arguments)
    repo.write(
        "specs/sales.yaml",
        spec.replace(
            "    bash_command: ./extract.sh", "    bash_command: ./extract.sh\n    retries: 4"
        ),
    )
    assert changes(capsys) == {
        ("sales", "task", "renamed", "fetch", "extract", "fetch"),
        ("sales", "setting", "retries", "fetch", "0", "4"),
    }


def test_dags_added_and_removed(repo, capsys):
    repo.write("specs/other.yaml", "start_date: 2100-01-01\ntasks: {a: {operator: empty}}\n")
    repo.commit()
    (repo.root / "specs/other.yaml").unlink()
    repo.write("specs/new.yaml", "start_date: 2100-01-01\ntasks: {a: {operator: empty}}\n")
    assert changes(capsys) == {
        ("new", "dag", "added", None, None, "new"),
        ("other", "dag", "removed", None, "other", None),
    }
    code, out, _ = diff(capsys)
    assert code == 1
    assert out == "new (specs/new.yaml): added\nother (specs/other.yaml): removed\n"


def test_blocks_families_and_defaults_at_the_base_are_read_from_git(repo, capsys):
    repo.write(
        "specs/blocks/load_table.yaml",
        """\
        parameters: {table: {type: string}}
        tasks:
          load: {operator: bash, bash_command: "load ${{ table }}"}
        """,
    )
    repo.write(
        "specs/shop.yaml",
        """\
        dag_id: shop_${{ region }}
        schedule: "0 ${{ hour }} * * *"
        start_date: 2100-01-01
        for_each:
          - {region: eu, hour: 1}
          - {region: us, hour: 7}
        tasks:
          orders: {use: load_table, with: {table: "orders_${{ region }}"}}
        """,
    )
    repo.write("specs/defaults.yaml", "owner: team-a\n")
    repo.commit()
    repo.write(
        "specs/blocks/load_table.yaml",
        """\
        parameters: {table: {type: string}}
        tasks:
          load: {operator: bash, bash_command: "load ${{ table }}", pool: warehouse}
        """,
    )
    shop = (repo.root / "specs/shop.yaml").read_text()
    repo.write(
        "specs/shop.yaml",
        shop.replace(
            "  - {region: us, hour: 7}", "  - {region: us, hour: 7}\n  - {region: ap, hour: 20}"
        ),
    )
    repo.write("specs/defaults.yaml", "owner: team-b\n")
    got = changes(capsys)
    owner = ("setting", "owner", None, "'team-a'", "'team-b'")
    pool = ("setting", "pool", "orders.load", None, "'warehouse'")
    assert got == {
        ("shop_ap", "dag", "added", None, None, "shop_ap"),
        ("shop_eu", *owner),
        ("shop_eu", *pool),
        ("shop_us", *owner),
        ("shop_us", *pool),
    }  # sales gives its own owner
    # the annotations point where each change is: the block's line, the defaults.yaml's
    _, out, _ = diff(capsys, "--format", "github")
    assert (
        "::notice file=specs/blocks/load_table.yaml,line=3,title=dagforge diff::shop_eu: task "
        "orders.load: pool: + 'warehouse'" in out.splitlines()
    )
    assert (
        "::notice file=specs/defaults.yaml,line=1,title=dagforge diff::shop_us: owner: 'team-a' -> "
        "'team-b'" in out.splitlines()
    )


def test_doc_md_files_at_the_base_are_compared(repo, capsys):
    repo.write("specs/sales.md", "# Sales\nThe old text\n")
    repo.write("specs/sales.yaml", BASE + "doc_md: {file: sales.md}\n")
    repo.commit()
    repo.write("specs/sales.md", "# Sales v2\nThe new text\n")
    assert changes(capsys) == {
        ("sales", "setting", "doc_md", None, "# Sales ...", "# Sales v2 ...")
    }


def test_github_annotations_point_at_the_changed_lines(repo, capsys):
    repo.write(
        "specs/sales.yaml",
        BASE.replace("    retries: 2", "    retries: 5").replace("[sales, etl]", "[sales]"),
    )
    code, out, err = diff(capsys, "--format", "github")
    lines = (repo.root / "specs/sales.yaml").read_text().splitlines()
    assert code == 1
    assert out.splitlines() == [
        "::notice file=specs/sales.yaml,line=4,title=dagforge diff::sales: tags: - etl",
        "::notice file=specs/sales.yaml,line=15,title=dagforge diff::sales: task transform: retries: 2 -> 5",
    ]
    assert lines[3] == "tags: [sales]" and lines[14] == "    retries: 5"
    assert err == "dagforge diff against HEAD: 1 DAG changed, 0 DAGs added, 0 DAGs removed\n"


def test_markdown_has_a_section_a_table_and_the_graph_with_the_changes_marked(repo, capsys):
    spec = BASE.replace("    retries: 2", "    retries: 3").replace(
        "    dependencies: [transform]\n", "    dependencies: [extract]\n"
    )
    repo.write(
        "specs/sales.yaml", spec + "  report:\n    operator: empty\n    dependencies: [load]\n"
    )
    code, out, _ = diff(capsys, "--format", "markdown")
    assert code == 1
    assert out.startswith(
        "## dagforge diff against `HEAD`\n\n1 DAG changed, 0 DAGs added, 0 DAGs removed.\n"
    )
    assert "### `sales`: changed\n" in out
    assert "- **edge removed**: `transform >> load`\n- **edge added**: `extract >> load`\n" in out
    assert (
        "| Task | Change | Before | After |\n| --- | --- | --- | --- |\n"
        "| `report` | added |  | `report` |\n"
        "| `transform` | retries | `2` | `3` |\n"
    ) in out
    (graph,) = re.findall(r"```mermaid\n(.*?)```", out, re.S)
    assert graph.splitlines()[3:] == [
        "flowchart LR",
        '    t0["extract<br/>BashOperator"]',
        '    t1["transform<br/>BashOperator"]:::changed',
        '    t2["load<br/>BashOperator"]',
        '    t3["report<br/>EmptyOperator"]:::added',
        "    t0 --> t1",
        "    t0 == added ==> t2",
        "    t2 == added ==> t3",
        "    t1 -. removed .-> t2",
        "    classDef added fill:#dafbe1,stroke:#1a7f37",
        "    classDef removed fill:#ffebe9,stroke:#cf222e,stroke-dasharray:4 4",
        "    classDef changed fill:#fff8c5,stroke:#9a6700",
        "    linkStyle 1,2 stroke:#1a7f37",
        "    linkStyle 3 stroke:#cf222e",
    ]


def test_no_graph_when_only_the_dags_own_settings_changed(repo, capsys):
    repo.write("specs/sales.yaml", BASE.replace("owner: data-eng", "owner: analytics"))
    _, out, _ = diff(capsys, "--format", "markdown")
    assert "- **owner**: `'data-eng'` → `'analytics'`" in out.splitlines()
    assert "```mermaid" not in out and "| Task |" not in out


def test_a_removed_task_stays_in_the_graph_marked_removed(repo, capsys):
    repo.write("specs/sales.yaml", BASE.split("  load:")[0])
    _, out, _ = diff(capsys, "--format", "markdown")
    assert '    t2["load<br/>BashOperator"]:::removed\n' in out
    assert "    t1 -. removed .-> t2\n" in out


def test_hostile_values_stay_data_in_every_format(repo, capsys):
    hostile = "x | `y` <img src=x onerror=alert(1)> @team\n::error::boom"
    repo.write("specs/sales.yaml", BASE.replace("./load.sh", json.dumps(hostile)))
    _, out, _ = diff(capsys, "--format", "markdown")
    (row,) = [line for line in out.splitlines() if line.startswith("| `load`")]
    assert row == (
        "| `load` | argument bash_command | `'./load.sh'` | "
        "``'x \\| `y` <img src=x onerror=alert(1)> @team\\n::error::boom'`` |"
    )
    _, out, _ = diff(capsys, "--format", "github")
    assert all(line.startswith("::notice ") for line in out.splitlines())
    _, out, _ = diff(capsys)
    assert "\n::error" not in out


def test_a_spec_invalid_at_the_base_or_now_is_reported_located(repo, capsys):
    repo.write("specs/sales.yaml", BASE.replace("[extract]", "[nowhere]"))
    repo.commit("broken")
    repo.write("specs/sales.yaml", BASE)
    code, out, err = diff(capsys)
    assert code == 1 and out == ""
    assert err.splitlines()[0] == (
        "specs/sales.yaml:14:20: error: at HEAD: task 'transform' depends on unknown task 'nowhere'"
    )
    assert err.splitlines()[1:3] == [
        "  14 |     dependencies: [nowhere]",  # the line as it was at the base
        "                          ^",
    ]
    assert err.splitlines()[-1].endswith("1 spec not compared (invalid)")
    _, out, _ = diff(capsys, "--format", "github")  # the base's line is not that line now
    assert out.startswith(
        "::error file=specs/sales.yaml,title=dagforge%3A unknown-dependency::at HEAD: task 'transform' depends"
    )
    repo.commit("fixed")
    repo.write("specs/sales.yaml", BASE.replace("start_date: 2100-01-01", "start_date: soon"))
    code, out, err = diff(capsys, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["changed"] and doc["dags"] == []
    ((problem),) = doc["invalid"]
    assert (problem["file"], problem["line"], problem["at"]) == ("specs/sales.yaml", 3, "now")


def test_usage_errors_exit_2_with_one_line(repo, tmp_path_factory):
    def run(*args, cwd=repo.root):
        return run_main("diff", *args, cwd=cwd)

    r = run("--base", "no-such-branch")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (
        "dagforge: error: unknown revision 'no-such-branch': name a branch, tag or commit "
        "(git log shows them)\n"
    )
    elsewhere = tmp_path_factory.mktemp("not_a_repo")
    r = run("--base", "HEAD", cwd=elsewhere)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert "is not in a git repository" in r.stderr
    r = run("--base", "HEAD", "specs/nothing.yaml")
    assert r.returncode == 2
    assert (
        r.stderr == "dagforge: error: specs/nothing.yaml: no such file or folder, now or at HEAD\n"
    )
    r = subprocess.run(  # the real command, through its exit code
        [DAGFORGE, "diff", "--base", "HEAD"], cwd=repo.root, capture_output=True, text=True
    )
    assert (r.returncode, r.stdout) == (0, "")
    repo.write("specs/sales.yaml", BASE.replace("retries: 2", "retries: 1"))
    r = run("--base", "HEAD")
    assert r.returncode == 1
    assert r.stdout == "sales (specs/sales.yaml): changed\n  task transform: retries: 2 -> 1\n"


def test_the_base_is_read_from_git_not_from_the_working_tree(repo, capsys):
    """Nothing is checked out: the working tree and the index stay as they were."""
    repo.write("specs/sales.yaml", BASE.replace("retries: 2", "retries: 9"))
    repo.git("add", "specs/sales.yaml")
    before = repo.git("status", "--porcelain"), repo.git("stash", "list")
    assert changes(capsys) == {("sales", "setting", "retries", "transform", "2", "9")}
    assert (repo.git("status", "--porcelain"), repo.git("stash", "list")) == before
    assert "retries: 9" in (repo.root / "specs/sales.yaml").read_text()


def test_from_a_subfolder_of_the_repository_with_its_defaults(tmp_path, monkeypatch, capsys):
    """The working folder is a project inside the repository: its defaults.yaml applies at the base
    too (defaults are looked up to the working folder, so the base is read as if from there)."""
    repo = Repo(tmp_path)
    repo.write("elsewhere/specs/x.yaml", BASE)  # outside the working folder: not read
    repo.write("project/defaults.yaml", "retries: 1\n")
    repo.write("project/specs/sales.yaml", BASE.replace("owner: data-eng\n", ""))
    repo.commit()
    repo.write("project/defaults.yaml", "retries: 3\n")
    monkeypatch.chdir(tmp_path / "project")
    assert changes(capsys) == {
        ("sales", "setting", "retries", t, "1", "3") for t in ("extract", "load")
    }  # transform gives its own


def test_specs_that_are_new_since_the_base_are_added(tmp_path, monkeypatch, capsys):
    repo = Repo(tmp_path)
    repo.write("README.md", "no specs yet\n")
    repo.commit()
    repo.write("specs/sales.yaml", BASE)
    monkeypatch.chdir(tmp_path)
    assert changes(capsys) == {("sales", "dag", "added", None, None, "sales")}


def test_the_ci_recipe_writes_the_comment_and_the_annotations(tmp_path):
    """docs/ci.md's dag-diff workflow: its dagforge step, run as the runner would (env, outputs),
    on a pull request's checkout with the base branch fetched as origin/main."""
    text = (Path(__file__).parent.parent / "docs" / "ci.md").read_text()
    workflows = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    (workflow,) = [w for w in workflows if "diff" in w["jobs"]]
    (step,) = [s for s in workflow["jobs"]["diff"]["steps"] if s.get("id") == "diff"]
    repo = Repo(tmp_path / "repo")
    repo.write("specs/sales.yaml", BASE)
    repo.commit("base")
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    repo.write("specs/sales.yaml", BASE.replace("retries: 2", "retries: 3"))
    repo.commit("the pull request")
    outputs, temp = tmp_path / "outputs", tmp_path / "temp"
    temp.mkdir()
    env = dict(os.environ, PATH=f"{DAGFORGE.parent}{os.pathsep}{os.environ['PATH']}")
    env.update({k: v.replace("${{ github.base_ref }}", "main") for k, v in step["env"].items()})
    env.update(GITHUB_OUTPUT=str(outputs), RUNNER_TEMP=str(temp))
    r = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert outputs.read_text() == "changed=1\n"
    comment = (temp / "dag-diff.md").read_text()
    assert comment.startswith("## dagforge diff against `origin/main`\n")
    assert "| `transform` | retries | `2` | `3` |" in comment
    assert r.stdout.splitlines() == [
        "::notice file=specs/sales.yaml,line=15,title=dagforge diff::sales: task transform: "
        "retries: 2 -> 3"
    ]


def test_only_what_the_specs_read_is_taken_from_git(tmp_path):
    """The folders given (a file: its folder), and the defaults files and blocks folders above
    them up to the working folder; not the rest of the repository."""
    from dagforge.diff import needed

    (tmp_path / "specs/reuse").mkdir(parents=True)
    (tmp_path / "specs/reuse/shop.yaml").write_text("")
    names = ["defaults.yaml", "defaults.yml", "blocks"]
    assert needed(["specs/reuse/shop.yaml"], tmp_path, tmp_path) == sorted(
        [*names, "specs/reuse", *(f"specs/{n}" for n in names)]
    )
    assert needed(["specs"], tmp_path / "specs", tmp_path) == sorted(
        ["specs/specs", *(f"specs/{n}" for n in names)]
    )  # a folder that is not there now is taken as a folder


def test_groups_their_defaults_and_a_task_moved_out_of_one(repo, capsys):
    grouped = """\
    start_date: 2100-01-01
    tasks:
      a: {operator: empty}
      grp:
        defaults: {retries: 2, queue: q1}
        tasks:
          x: {operator: bash, bash_command: "echo x"}
          y: {operator: bash, bash_command: "echo y", dependencies: [x]}
        dependencies: [a]
    """
    repo.write("specs/g.yaml", grouped)
    repo.commit()
    repo.write(
        "specs/g.yaml",
        """\
        start_date: 2100-01-01
        tasks:
          a: {operator: empty}
          grp:
            defaults: {retries: 3, queue: q1}
            tasks:
              y: {operator: bash, bash_command: "echo y"}
            dependencies: [a]
          x: {operator: bash, bash_command: "echo x", retries: 3, queue: q1, dependencies: [a]}
        """,
    )
    assert changes(capsys) == {
        ("g", "task", "renamed", "x", "grp.x", "x"),
        ("g", "edge", "removed", None, "x >> grp.y", None),
        ("g", "edge", "added", None, None, "a >> grp.y"),
        ("g", "setting", "retries", "grp.y", "2", "3"),
        ("g", "setting", "retries", "x", "2", "3"),
    }


def test_diff_does_not_import_airflow(repo):
    repo.write("specs/sales.yaml", BASE.replace("retries: 2", "retries: 1"))
    code = (
        "import sys; from dagforge.cli import main\n"
        "for fmt in ('text', 'markdown', 'json', 'github'):\n"
        "    assert main(['diff', '--base', 'HEAD', '--format', fmt]) == 1\n"
        "assert not [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')]\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=repo.root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_many_specs_read_in_a_pool_of_processes_at_the_base_too(tmp_path, monkeypatch, capsys):
    """More specs than load in one process (concurrency.PARALLEL_ABOVE): the pool's workers read
    the base from its folder as well, with its defaults.yaml."""
    from dagforge import concurrency

    repo = Repo(tmp_path)
    n = concurrency.PARALLEL_ABOVE + 2
    repo.write("project/defaults.yaml", "retries: 1\n")
    for i in range(n):
        repo.write(
            f"project/specs/s{i}.yaml", "start_date: 2100-01-01\ntasks: {a: {operator: empty}}\n"
        )
    repo.commit()
    repo.write("project/defaults.yaml", "retries: 2\n")
    monkeypatch.chdir(tmp_path / "project")
    assert changes(capsys) == {(f"s{i}", "setting", "retries", "a", "1", "2") for i in range(n)}


def test_no_temporary_folder_is_one_line_and_exit_2(repo, capsys, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", os.devnull)  # a file: no folder can be made in it
    code, out, err = diff(capsys)
    assert (code, out) == (2, "")
    assert err == (
        "dagforge: error: cannot write the specs at HEAD into a temporary folder: Not a directory\n"
    )


def test_a_later_start_date_lists_the_runs_that_go(repo, capsys):
    repo.write("specs/sales.yaml", BASE.replace("start_date: 2100-01-01", "start_date: 2100-01-03"))
    code, out, _ = diff(capsys)
    assert (code, out.splitlines()) == (
        1,
        [
            "sales (specs/sales.yaml): changed",
            "  start_date: 2100-01-01 00:00 UTC -> 2100-01-03 00:00 UTC",
            "    runs that disappear: Fri 2100-01-01 02:00 UTC (+00:00), Sat 2100-01-02 02:00 UTC "
            "(+00:00)",
        ],
    )

"""`dagforge new` writes commented starters that build and load in Airflow; `dagforge schema`."""

import json

import jsonschema
import pytest
from conftest import ROOT, load_dagbag, run_cli, run_main

from dagforge.scaffold import STARTERS

MODELINE = "# yaml-language-server: $schema=../schemas/pipeline.schema.json\n"


def test_every_starter_builds_verified_and_loads(tmp_path):
    for template in STARTERS:
        r = run_cli("new", f"my_{template}", "--template", template, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"wrote specs/my_{template}.yaml (starter: {template})\n"
        text = (tmp_path / "specs" / f"my_{template}.yaml").read_text()
        assert text.startswith(MODELINE)
        assert (
            sum(line.lstrip().startswith("#") or " # " in line for line in text.splitlines()) >= 5
        )  # commented
    assert (
        "dagforge schema > schemas/pipeline.schema.json" in r.stderr
    )  # no schema next to specs/ yet
    r = run_cli("build", "specs", "-o", "out", "--verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "4 built, 0 invalid; 4 verified with Airflow's DagBag\n"
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and sorted(bag.dags) == sorted(f"my_{t}" for t in STARTERS)


def test_default_template_is_etl_and_the_modeline_follows_the_folder(tmp_path):
    (tmp_path / "schemas").mkdir()
    r = run_main("schema", cwd=tmp_path)
    (tmp_path / "schemas" / "pipeline.schema.json").write_text(r.stdout)
    r = run_main("new", "sales.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "note:" not in r.stderr
    assert (tmp_path / "specs" / "sales.yaml").read_text() == MODELINE + (
        ROOT / "dagforge" / "starters" / "etl.yaml"
    ).read_text()
    r = run_main("new", "deep", "--dir", "pipelines/team_a", cwd=tmp_path)
    assert r.returncode == 0
    text = (tmp_path / "pipelines" / "team_a" / "deep.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/pipeline.schema.json\n")


def test_new_refuses_to_overwrite(tmp_path):
    assert run_main("new", "mine", cwd=tmp_path).returncode == 0
    spec = tmp_path / "specs" / "mine.yaml"
    spec.write_text("my own work\n")
    r = run_main("new", "mine", "--template", "ml", cwd=tmp_path)
    assert r.returncode == 2
    assert "dagforge: error: specs/mine.yaml already exists: not overwriting it" in r.stderr
    assert spec.read_text() == "my own work\n"


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "has space", "x" * 251])
def test_new_refuses_names_that_are_no_dag_id(tmp_path, name):
    r = run_main("new", name, cwd=tmp_path)
    assert (
        r.returncode == 2 and "cannot name a pipeline" in r.stderr and "Traceback" not in r.stderr
    )
    assert not (tmp_path / "specs").exists() or not any((tmp_path / "specs").iterdir())
    assert not (tmp_path / "escape.yaml").exists()


def test_new_unknown_template_is_a_usage_error(tmp_path):
    r = run_main("new", "x", "--template", "spark", cwd=tmp_path)
    assert r.returncode == 2 and "invalid choice: 'spark'" in r.stderr


def test_schema_prints_the_json_schema():
    r = run_main("schema", cwd=ROOT)
    assert r.returncode == 0 and r.stdout == (ROOT / "schemas" / "pipeline.schema.json").read_text()
    jsonschema.Draft202012Validator.check_schema(json.loads(r.stdout))

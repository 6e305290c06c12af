"""`${VAR}` and `${VAR:-default}` in spec strings: build-time substitution, `$${` for a literal `${`."""

import textwrap

from conftest import load_dagbag

import dagforge

SPEC = """
start_date: 2024-01-01
owner: ${DAGFORGE_TEST_TEAM:-data-eng}
tasks:
  load:
    operator: bash
    bash_command: "load --to ${DAGFORGE_TEST_TARGET} --home $${HOME}"
    env: {TARGET: "${DAGFORGE_TEST_TARGET}", QUOTE: "it's \\"${DAGFORGE_TEST_TARGET}\\""}
"""


def test_values_are_substituted_and_stay_literals(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGFORGE_TEST_TARGET", 'prod"); import os; os.system("x')
    monkeypatch.delenv("DAGFORGE_TEST_TEAM", raising=False)
    spec = tmp_path / "env_pipe.yaml"
    spec.write_text(textwrap.dedent(SPEC).lstrip())
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    task = load_dagbag(tmp_path / "out").dags["env_pipe"].task_dict["load"]
    target = 'prod"); import os; os.system("x'
    assert (
        task.bash_command == f"load --to {target} --home ${{HOME}}"
    )  # `$${HOME}` is bash's own ${HOME}
    assert task.env == {"TARGET": target, "QUOTE": f'it\'s "{target}"'}
    assert task.owner == "data-eng"
    assert "import os" not in result.specs[0].code.split("bash_command=")[0]  # a value, never code


def test_a_changed_value_rebuilds_the_file(tmp_path, monkeypatch):
    spec = tmp_path / "env_pipe.yaml"
    spec.write_text(textwrap.dedent(SPEC).lstrip())
    monkeypatch.setenv("DAGFORGE_TEST_TARGET", "staging")
    dagforge.build([spec], tmp_path / "out", verify=False)
    again = dagforge.build([spec], tmp_path / "out", verify=False)
    assert again.specs[0].up_to_date
    monkeypatch.setenv("DAGFORGE_TEST_TARGET", "prod")
    third = dagforge.build([spec], tmp_path / "out", verify=False)
    assert not third.specs[0].up_to_date and "load --to prod" in third.specs[0].code
    monkeypatch.setenv(
        "DAGFORGE_TEST_TEAM", "data-eng"
    )  # the same text as the default, but now set
    assert not dagforge.build([spec], tmp_path / "out", verify=False).specs[0].up_to_date


def test_unset_and_malformed_references_name_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGFORGE_TEST_TARGET", raising=False)
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "start_date: 2024-01-01\ntasks:\n  a:\n    operator: bash\n"
        "    bash_command: 'echo ${DAGFORGE_TEST_TARGET} ${not closed'\n"
    )
    found = {(d.line, d.message) for d in dagforge.validate([spec]).specs[0].diagnostics}
    assert found == {
        (5, "environment variable 'DAGFORGE_TEST_TARGET' is not set"),
        (5, "`${` starts no environment reference here"),
    }

"""Assets: tasks declare `outlets`; a schedule can be a list of assets or an any/all expression."""

import textwrap

from conftest import load_dagbag

import dagforge

PRODUCER = """
start_date: 2024-01-01
schedule: "@daily"
tasks:
  load:
    operator: empty
    outlets: [s3://lake/orders, warehouse.customers]
  other:
    operator: empty
    outlets: [s3://lake/x]
"""
ANY = """
start_date: 2024-01-01
schedule:
  any:
    - s3://lake/orders
    - all: [warehouse.customers, s3://lake/x]
tasks:
  report: {operator: empty}
"""
ALL = """
start_date: 2024-01-01
schedule: [s3://lake/orders, warehouse.customers]
tasks:
  report: {operator: empty}
"""


def _folder(tmp_path, **specs):
    folder = tmp_path / "specs"
    folder.mkdir()
    for name, text in specs.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
    return folder


def _condition(c):
    objects = getattr(c, "objects", None)
    if objects is None:
        return c.name
    return (type(c).__name__, [_condition(o) for o in objects])


def test_outlets_and_asset_schedules_load_in_a_real_dagbag(tmp_path):
    folder = _folder(tmp_path, producer=PRODUCER, on_any=ANY, on_all=ALL)
    result = dagforge.build([folder], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    assert not any(s.diagnostics for s in result.specs)
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    assert [a.name for a in bag.dags["producer"].task_dict["load"].outlets] == [
        "s3://lake/orders",
        "warehouse.customers",
    ]
    on_any = bag.dags["on_any"].timetable
    assert type(on_any).__name__ == "AssetTriggeredTimetable"
    assert _condition(on_any.asset_condition) == (
        "AssetAny",
        ["s3://lake/orders", ("AssetAll", ["warehouse.customers", "s3://lake/x"])],
    )
    assert _condition(bag.dags["on_all"].timetable.asset_condition) == (
        "AssetAll",
        ["s3://lake/orders", "warehouse.customers"],
    )
    text = dagforge.explain(folder / "on_any.yaml").text
    assert (
        "when assets are updated: any of (s3://lake/orders, all of (warehouse.customers, s3://lake/x))"
        in text
    )


def test_an_asset_nobody_updates_is_a_warning(tmp_path):
    folder = _folder(tmp_path, on_all=ALL)
    result = dagforge.validate([folder])
    assert result.ok
    found = sorted((d.severity, d.line, d.message) for d in result.specs[0].diagnostics)
    assert found == [
        ("warning", 2, "no task of these specs updates asset 's3://lake/orders'"),
        ("warning", 2, "no task of these specs updates asset 'warehouse.customers'"),
    ]


def test_asset_mistakes(tmp_path):
    folder = _folder(
        tmp_path,
        bad="""
        start_date: 2024-01-01
        schedule: {some: [a]}
        tasks:
          t:
            operator: empty
            outlets: ["airflow://x", "s3://user:secret@bucket/k"]
    """,
    )
    found = {
        f"{d.line}:{d.column}: {d.message}"
        for d in dagforge.validate([folder]).specs[0].diagnostics
    }
    assert "2:12: unknown key 'some' in schedule" in found
    assert "6:15: asset 'airflow://x': the URI scheme 'airflow' is reserved by Airflow" in found
    assert "6:30: asset 's3://user:secret@bucket/k' holds a password" in found

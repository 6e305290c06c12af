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


WRITTEN_OUT = """
start_date: 2024-01-01
schedule: "@daily"
tasks:
  load:
    operator: empty
    inlets: [s3://lake/raw, {name: customers, uri: "postgres://db:5432/shop/public/customers"}]
    outlets:
      - {name: orders, uri: s3://lake/orders.parquet, group: sales, extra: {format: parquet}}
      - {alias: daily_exports}
"""
TIME_OR_ASSETS = """
start_date: 2024-01-01
schedule:
  time: "0 6 * * *"
  assets: {any: [orders, {alias: daily_exports}]}
tasks:
  report: {operator: empty}
"""


def test_assets_written_out_aliases_inlets_and_a_time_or_assets_schedule_in_a_real_dagbag(
    tmp_path,
):
    folder = _folder(tmp_path, writer=WRITTEN_OUT, reader=TIME_OR_ASSETS)
    result = dagforge.build([folder], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    # `orders` is the name of the asset the writer's outlet writes out: no "nobody updates it"
    assert not any(s.diagnostics for s in result.specs)
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    load = bag.dags["writer"].task_dict["load"]
    orders, alias = load.outlets
    assert (orders.name, orders.uri, orders.group, orders.extra) == (
        "orders",
        "s3://lake/orders.parquet",
        "sales",
        {"format": "parquet"},
    )
    assert type(alias).__name__ == "AssetAlias" and alias.name == "daily_exports"
    assert [a.name for a in load.inlets] == ["s3://lake/raw", "customers"]
    timetable = bag.dags["reader"].timetable
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    assert type(timetable.timetable).__name__ == "CronTriggerTimetable"
    assert timetable.timetable.expression == "0 6 * * *"
    condition = timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"
    assert [type(o).__name__ for o in condition.objects] == ["Asset", "AssetAlias"]
    text = dagforge.explain(folder / "reader.yaml").text
    assert "; and whenever assets are updated: any of (orders, alias daily_exports)" in text
    text = dagforge.explain(folder / "writer.yaml").text
    assert "updates:    orders (s3://lake/orders.parquet), alias daily_exports" in text


def test_verification_compares_assets_by_name_uri_group_and_extra(tmp_path):
    from dagforge import verify
    from dagforge.load import load as load_document
    from dagforge.model import build_model

    folder = _folder(tmp_path, writer=WRITTEN_OUT, reader=TIME_OR_ASSETS)
    assert dagforge.build([folder], tmp_path / "out", verify=True).ok
    bag = load_dagbag(tmp_path / "out")
    for name in ("writer", "reader"):
        expected = verify.expectations(build_model(load_document(folder / f"{name}.yaml")))
        assert verify._compare(bag.dags[name], expected) == []
    expected = verify.expectations(build_model(load_document(folder / "writer.yaml")))
    outlets = expected["tasks"]["load"]["settings"]["outlets"]
    for changed in ({**outlets[0], "group": "other"}, {**outlets[0], "extra": {}}, "orders"):
        expected["tasks"]["load"]["settings"]["outlets"] = [changed, outlets[1]]
        [problem] = verify._compare(bag.dags["writer"], expected)
        assert problem.startswith("task 'load': outlets is "), problem
    expected = verify.expectations(build_model(load_document(folder / "reader.yaml")))
    expected["schedule"]["time"]["expression"] = "0 7 * * *"
    [problem] = verify._compare(bag.dags["reader"], expected)
    assert problem.startswith("schedule is ")


def test_asset_names_and_groups_are_errors_on_airflow_2_at_the_key(tmp_path):
    folder = _folder(tmp_path, writer=WRITTEN_OUT)
    result = dagforge.build([folder], tmp_path / "out", verify=False, airflow="2")
    found = [(d.line, d.column, d.message.split(":")[0]) for d in result.specs[0].diagnostics]
    assert found == [
        (6, 30, "an asset's name or group is not available on Airflow 2.10"),
        (8, 10, "an asset's name or group is not available on Airflow 2.10"),
    ]


def test_a_time_or_assets_schedule_needs_a_repeating_time_and_both_keys(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "start_date: 2024-01-01\nschedule: {time: '@once', assets: [s3://a]}\n"
        "tasks:\n  a: {operator: empty}\n"
    )
    [d] = dagforge.validate([spec], verify=False).specs[0].diagnostics
    assert (d.line, d.column, d.message) == (2, 18, "schedule.time: '@once' is no repeating time")
    spec.write_text(
        "start_date: 2024-01-01\nschedule: {time: '@daily'}\ntasks:\n  a: {operator: empty}\n"
    )
    [d] = dagforge.validate([spec], verify=False).specs[0].diagnostics
    assert d.message == "a schedule on a time or assets takes exactly `time` and `assets`"


def test_an_alias_in_a_schedule_is_an_error_on_airflow_2_only(tmp_path):
    folder = _folder(tmp_path, reader=TIME_OR_ASSETS)
    found = dagforge.build([folder], tmp_path / "out", verify=False, airflow="2").specs[0]
    [d] = [d for d in found.diagnostics if d.severity == "error"]
    assert (d.line, d.column) == (4, 27)
    assert d.message.startswith("an asset alias in a schedule is not available on Airflow 2.10")
    assert dagforge.build([folder], tmp_path / "out3", verify=False).ok


def test_a_schedule_with_both_any_and_all_is_an_error(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "start_date: 2024-01-01\nschedule: {any: [s3://a], all: [s3://b]}\n"
        "tasks:\n  a: {operator: empty, outlets: [s3://a, s3://b]}\n"
    )
    [d] = dagforge.validate([spec], verify=False).specs[0].diagnostics
    assert (d.line, d.message) == (2, "schedule: give `any` or `all`, not both")


def test_an_asset_airflow_normalizes_verifies_as_the_spec_writes_it(tmp_path):
    # Airflow reads `s3://bucket` as s3://bucket/; the spec's asset is still that one
    folder = _folder(
        tmp_path,
        bucket="""
        start_date: 2024-01-01
        schedule: {time: "0 6 * * *", assets: ["s3://bucket"]}
        tasks:
          t: {operator: empty, outlets: ["s3://other"]}
        """,
    )
    result = dagforge.build([folder], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]

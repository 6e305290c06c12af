"""Assets on Airflow 2.10: written-out Datasets (uri, extra), aliases in outlets, inlets and a
DatasetOrTimeSchedule load in 2.10's real DagBag and are compared there."""

import textwrap

from conftest import installed_airflow, load_dagbag

import dagforge

WRITER = """
start_date: 2024-01-01
schedule: "@daily"
tasks:
  load:
    operator: empty
    inlets: [s3://lake/raw]
    outlets: [{uri: s3://lake/orders, extra: {format: parquet}}, {alias: exports}]
"""
READER = """
start_date: 2024-01-01
schedule: {time: 6h, assets: [s3://lake/orders]}
tasks:
  report: {operator: empty}
"""


def test_assets_load_and_are_compared_in_airflow_2(tmp_path, monkeypatch):
    assert installed_airflow() == "2"
    for name, text in (("writer", WRITER), ("reader", READER)):
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([tmp_path], tmp_path / "out", verify=True, airflow="2")
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    bag = load_dagbag(tmp_path / "out")
    orders, alias = bag.dags["writer"].task_dict["load"].outlets
    assert (orders.uri, orders.extra, type(alias).__name__) == (
        "s3://lake/orders",
        {"format": "parquet"},
        "DatasetAlias",
    )
    assert [d.uri for d in bag.dags["writer"].task_dict["load"].inlets] == ["s3://lake/raw"]
    timetable = bag.dags["reader"].timetable
    assert type(timetable).__name__ == "DatasetOrTimeSchedule"
    assert type(timetable.timetable).__name__ == "DeltaDataIntervalTimetable"

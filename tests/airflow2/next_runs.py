"""Write, as JSON, when the scheduler of the installed Airflow runs each DAG of a folder.

    python next_runs.py FOLDER OUTPUT.json [COUNT]

Each DAG goes the scheduler's way: serialized, deserialized, and its timetable asked for the next
run again and again from start_date (as with catchup), and once more after a run far in the future
(as without catchup). Runs under Airflow 2.10 and Airflow 3 alike, so the two can be compared.
"""

import json
import sys
from datetime import timedelta

import pendulum


def main(folder: str, output: str, count: int = 8) -> None:
    import airflow
    from airflow.timetables.base import DataInterval, TimeRestriction

    from dagforge.targets import TARGETS
    from dagforge.verify import load_dagbag

    bag = load_dagbag(folder, TARGETS[airflow.__version__.split(".")[0]])
    assert not bag.import_errors, bag.import_errors
    try:  # Airflow 3
        from airflow.serialization.serialized_objects import DagSerialization as Serialization
    except ImportError:  # Airflow 2
        from airflow.serialization.serialized_objects import SerializedDAG as Serialization
    found = {}
    for dag_id, dag in sorted(bag.dags.items()):
        timetable = Serialization.from_dict(Serialization.to_dict(dag)).timetable
        runs, last = [], None
        with_catchup = TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)
        for _ in range(count):
            info = timetable.next_dagrun_info(
                last_automated_data_interval=last, restriction=with_catchup
            )
            if info is None:
                break
            runs.append(_run(info))
            last = info.data_interval
        future = pendulum.datetime(2100, 3, 27, 12, tz="UTC")
        after = timetable.next_dagrun_info(
            last_automated_data_interval=DataInterval(future - timedelta(hours=1), future),
            restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=False),
        )
        found[dag_id] = {
            "timetable": type(timetable).__name__,
            "runs": runs,
            "without_catchup": _run(after) if after else None,
        }  # None: no time-based runs (assets)
    with open(output, "w") as f:
        json.dump(found, f, indent=1)


def _run(info) -> dict:
    utc = pendulum.timezone("UTC")
    return {
        "run_after": info.run_after.in_timezone(utc).isoformat(),
        "data_interval": [
            info.data_interval.start.in_timezone(utc).isoformat(),
            info.data_interval.end.in_timezone(utc).isoformat(),
        ],
    }


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:4]))

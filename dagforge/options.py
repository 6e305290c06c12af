"""The settings of one run of build, check or validate, decided once where the library is called
and handed down as one frozen object (as black hands down its Mode): no step looks the Airflow
version up again from a "2" or "3" string."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import targets


@dataclass(frozen=True)
class Options:
    target: targets.Target = field(default_factory=lambda: targets.target(targets.DEFAULT))
    output: Path = Path("generated_dags")  # the folder the generated files go to
    force: bool = False  # render and write every file, also the ones already up to date
    verify: bool | None = (
        None  # load the files in Airflow's DagBag; None: when Airflow is installed
    )
    import_timeout: float | None = None  # seconds one import of the user's code may take

    @classmethod
    def of(
        cls,
        airflow: str | int = targets.DEFAULT,
        output: str | os.PathLike[str] = "generated_dags",
        **rest: object,
    ) -> Options:
        """The Options of the library's keyword arguments; ValueError for an unknown version."""
        return cls(target=targets.target(airflow), output=Path(output), **rest)  # type: ignore[arg-type]

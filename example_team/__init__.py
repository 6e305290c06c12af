"""The hand-written Python that the example specs name (specs/orders_branching_etl.yaml and
specs/ml_fraud_training.yaml): a stand-in for a team's own package.

It lives at the top of the repository, the working folder dagforge runs in: `dagforge validate`,
`build` and `run` import it from there, and so does the CI workflow's DagBag (docs/ci.md). Where Airflow
runs the generated DAGs it must be importable too: ship it into the DAGs folder beside the generated
files (Airflow puts the DAGs folder on sys.path) or install it as a package."""

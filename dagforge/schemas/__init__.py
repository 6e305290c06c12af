"""The JSON Schema of the spec format, read with importlib.resources. `schemas/pipeline.schema.json` at
the top of the repository is its published copy (the one specs' modelines name), kept byte-identical
by tests/test_schema.py: `dagforge schema > schemas/pipeline.schema.json` refreshes it."""

"""The JSON Schema of the spec format, shipped inside the dagforge package as dagforge.schemas."""

"""The named model registry (model_registry: versions, index, production pointer, history) and the one inference
path (inference: load a verified version, check the input against its schema, predict)."""

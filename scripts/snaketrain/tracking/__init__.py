"""Experiment tracking: the MLflow mirror of the registry (mlflow_mirror)."""

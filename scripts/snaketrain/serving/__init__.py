"""The model service (snaketrain-serve: service) and its fast prediction path (fast_path: ONNX Runtime)."""

"""Prediction on new MLTree files and ONNX export of trained runs.

- ``chunks``: stage 1 + 2 of a chunk of events in memory, with the run's data config;
- ``backends``: PyTorch or ONNX Runtime inference on padded batches;
- ``run``: :func:`predict_files` (streams per-cell attributions to parquet or ROOT);
- ``export``: :func:`export_onnx` (dynamic batch and point axes).
"""

from __future__ import annotations

from jetpointnet.predict.export import ExportError, export_onnx
from jetpointnet.predict.run import PredictConfig, PredictResult, predict_files

__all__ = ["ExportError", "PredictConfig", "PredictResult", "export_onnx", "predict_files"]

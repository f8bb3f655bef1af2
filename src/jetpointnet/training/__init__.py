"""The training loop, run folders, checkpoints and resumption.

- ``config``: ``TrainConfig`` (model, task, data, train sections);
- ``dataset``: streaming, shuffled, per-batch padded batches from npz chunks;
- ``tasks`` / ``losses``: what is learned per point and its masked loss;
- ``loop``: :func:`train`; ``epoch``: one training or validation pass, the optimiser;
  ``checkpoint``, ``logging``, ``run_folder``: the run folder;
- ``distributed``: torchrun / DistributedDataParallel (gloo on CPU, NCCL on CUDA);
- ``inference``: the batched-inference loop (``padded_batches``, ``infer``,
  ``TorchForward``), :func:`load_run`, and :func:`predict` on a split for evaluation;
- ``kinds``: what differs between data kinds (per-track clouds; per-cloud and
  event-level kinds register themselves from their own modules, imported below).
"""

from __future__ import annotations

# registered data kinds beyond "track" (each module calls kinds.register_kind at import)
import jetpointnet.training.event_kind
import jetpointnet.training.jet_kind  # (registers kind "jet", task "tagging")
import jetpointnet.training.photon_kind  # noqa: F401  (registers kind "photon")
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.inference import load_run, predict
from jetpointnet.training.loop import TrainingDiverged, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "TrainingDiverged", "load_run", "predict", "train"]

"""jetpointnet: machine-learned particle flow in calorimeters.

For every charged track of a collision event, jetpointnet learns which share of the
energy in each nearby calorimeter cell belongs to that track's particle.

The package is layered; imports point one way only (left to right), and each folder's
``ruff.toml`` bans the folders above it (CI runs ruff)::

    io -> simulate -> data -> models -> training -> predict -> plotting / pages
       -> evaluation -> jets / tuning -> tagging -> workflows -> cli

- ``io``: the only layer that talks to uproot, ROOT and the file system (MLTree reading
  and writing and its one front door ``mltree_inputs``, the one reader of preprocessed
  folders ``prep_folder``, particles tables, atomic outputs).
- ``simulate``: the embedded data source (Pythia 8 events, tracker, an ATLAS-like
  calorimeter with a parametrised shower simulation, topo-clustering).
- ``data``: per-track and event-level samples and point-cloud arrays (numpy / awkward).
- ``models``: PyTorch networks (nothing below this layer imports torch).
- ``training``: the training loop, data kinds (track, event, jet), tasks, run folders.
- ``predict``: a trained run on new files or a split, ONNX export.
- ``plotting``: every matplotlib figure (nothing else imports matplotlib); ``pages``: the
  Jinja2 templates and the one HTML page writer.
- ``evaluation``: metrics, baselines, the classical particle-flow algorithm, the
  particle-level and tagging evaluations.
- ``jets``: particle-flow objects of every algorithm, anti-kt jets and their response
  against truth jets; ``tuning``: hyper-parameter search.
- ``tagging``: large-R jets, their labels and substructure, jet samples (seed 004).
- ``workflows``: multi-stage jobs (the demo, the simulation report).
- ``cli``: the ``jetpointnet`` command and its sub-commands.

Units everywhere are those of MLTree files: GeV for energies and momenta, mm for
lengths, radians for angles with phi in (-pi, pi].
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

"""jetpointnet: machine-learned particle flow in calorimeters.

For every charged track of a collision event, jetpointnet learns which share of the
energy in each nearby calorimeter cell belongs to that track's particle.

The package is layered; imports point one way only (left to right)::

    io  ->  data  ->  models  ->  training  ->  evaluation / plotting / predict / tuning
        ->  jets  ->  workflows  ->  cli

``simulate`` sits beside ``io``: it produces the MLTree ROOT files that ``io`` reads.

- ``io``: the only layer that talks to uproot, ROOT and the file system (MLTree
  reading and writing, atomic outputs).
- ``simulate``: the embedded data source (Pythia 8 events, tracker, an ATLAS-like
  calorimeter with a parametrised shower simulation, topo-clustering).
- ``data``: per-track samples and point-cloud arrays (plain numpy / awkward).
- ``models``: PyTorch networks (nothing below this layer imports torch).
- ``training``: the training loop, run folders, checkpoints.
- ``evaluation``: metrics, baselines, the classical particle-flow algorithm.
- ``plotting``: every matplotlib figure (nothing else imports matplotlib).
- ``predict``: a trained run on new files, ONNX export; ``tuning``: hyper-parameter search.
- ``jets``: event-level particle flow (subtraction, particle-flow objects), anti-kt jets
  and their response against truth jets, for the classical algorithm, trained runs and
  calorimeter-only jets.
- ``workflows``: multi-stage jobs (the demo, the simulation report).
- ``cli``: the ``jetpointnet`` command and its sub-commands.

Units everywhere are those of MLTree files: GeV for energies and momenta, mm for
lengths, radians for angles with phi in (-pi, pi].
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

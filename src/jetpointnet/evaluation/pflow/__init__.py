"""The classical ATLAS cell-based particle-flow algorithm (``../shared/PFLOW.md``, docs/pflow.md).

- ``layers``: layer groups, ring widths, angular distances, depth model, the LHED (numpy);
- ``event``: one event's cells, tracks, result, track outcomes and the parameters;
- ``matching``: cluster geometry, track-cluster matching and groups, a track's LHED;
- ``subtraction``: ring ranking and cell-by-cell subtraction;
- ``algorithm``: the two passes (first pass, split-shower recovery) on one event;
- ``fits``, ``templates``: <E/p>, sigma(E/p) and ring profiles measured on single charged
  pions, stored as JSON, with the eflowRec reference values;
- ``adapter``, ``build``: from stage-1 samples to events and back to the points of stage 2.
"""

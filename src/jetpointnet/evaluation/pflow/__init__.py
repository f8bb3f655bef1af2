"""The classical ATLAS cell-based particle-flow algorithm (``../shared/PFLOW.md``).

- ``layers``: layer groups, ring widths, angular distances, the LHED (plain numpy);
- ``templates``: <E/p>, sigma(E/p) and ring profiles measured on single charged pions,
  stored as JSON, with the eflowRec reference values;
- ``algorithm``: the cell-level procedure on numpy arrays of one event;
- ``adapter``: from stage-1 samples to events and back to the points of stage 2.
"""

"""Event-level particle flow and jets (``jetpointnet jets``).

- ``events``: whole events of a chunk (cells, clusters, tracks, truth particles);
- ``algorithms``: what the classical algorithm and a trained run claim of the cells;
- ``ceilings``: the claims of the two truth ceilings, ``oracle`` and ``oracle-calibrated``;
- ``reconcile``: the event-level subtraction rule for cells claimed by several tracks;
- ``objects``: particle-flow objects, topo-clusters and truth particles as four-vectors;
- ``clustering``: anti-kt jets with FastJet and truth matching;
- ``response``: response and resolution in bins of truth-jet pT;
- ``predictions``: a run's cached per-cell predictions on the inputs;
- ``run``: the chunk loop and the outputs; ``report``: figures and report.html.
"""

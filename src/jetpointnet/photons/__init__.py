"""Displaced-photon data (issue 15, seed 003): photon candidates from topo-clusters matched
to the photons of ALP decays, labelled prompt / displaced, as images, graphs and cells.

Modules, in the order a chunk passes them: :mod:`.truth` (the ALP photons, their decay
vertex and impact point on the calorimeter), :mod:`.candidates` (topo-clusters or the
leading cluster of anti-kt R = 0.4 jets, matched to the photons), :mod:`.layers` (the
image depth: seed 003's barrel / end-cap / extended-barrel groups), :mod:`.image`,
:mod:`.graph`, :mod:`.cells` (the three input forms), :mod:`.pointing` (the cut-based
baseline's z0), :mod:`.build` (one chunk), :mod:`.preprocess` (the folder). The folder
format is ``contracts/photon.md``; the rules are in docs/photons-data.md.
"""

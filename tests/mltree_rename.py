"""A copy of an MLTree file with its trees renamed (real files name them differently)."""

from __future__ import annotations

from pathlib import Path


def rename_trees(src: Path, dst: Path, names: dict[str, str]) -> Path:
    """Copy ``src`` with its trees renamed (``{"EventTree": "Events", ...}``), via PyROOT."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "ROOT is in alpha stage"
        import ROOT

    fin = ROOT.TFile.Open(str(src))
    fout = ROOT.TFile(str(dst), "RECREATE")
    for old, new in names.items():
        tree = fin.Get(old)
        fout.cd()
        copy = tree.CloneTree(-1)
        copy.SetName(new)
        copy.SetTitle(new)
        copy.Write()
    fout.Close()
    fin.Close()
    return dst

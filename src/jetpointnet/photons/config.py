"""Configuration of ``jetpointnet preprocess --kind photon`` (typed, from YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jetpointnet.data.config import SplitConfig
from jetpointnet.data.splits import split_fractions
from jetpointnet.errors import UserError, did_you_mean

__all__ = ["CLASSES", "OBJECTS", "GraphConfig", "ImageConfig", "PhotonPrepConfig",
           "validate_photon_config"]  # fmt: skip

#: The classes in ``y_cloud`` order (contract: prompt 0, displaced 1).
CLASSES = ("prompt", "displaced")
#: Object rules: each topo-cluster, or the leading topo-cluster of an anti-kt R = 0.4 jet.
OBJECTS = ("cluster", "jet-leading-cluster")


@dataclass
class ImageConfig:
    """The image: ``n_eta`` x ``n_phi`` pixels of ``pixel`` = [d_eta, d_phi] (radians) per
    depth layer, centred on the highest-energy cluster."""

    n_eta: int = 15
    n_phi: int = 15
    pixel: list[float] = field(default_factory=lambda: [0.025, 0.0245])


@dataclass
class GraphConfig:
    """Graph edges: nodes of one layer closer than ``same_layer_dr`` and nodes of
    consecutive layers of one group closer than ``next_layer_dr`` (Delta-R in eta x phi);
    at most ``max_nodes`` nodes (highest energy first) and ``max_edges`` edges per object."""

    same_layer_dr: float = 0.1
    next_layer_dr: float = 0.1
    max_nodes: int = 48
    max_edges: int = 512


@dataclass
class PhotonPrepConfig:
    """Options of the photon preprocess (GeV, radians, mm).

    ``inputs``: class (``prompt`` | ``displaced``) -> MLTree file globs (added to by
    ``--input CLASS=GLOB``); ``object``: cluster | jet-leading-cluster; candidates need a
    (leading) cluster above ``min_cluster_e``; ``match_dr``: Delta-R to the photon's
    impact point; ``lxy_threshold_mm``: a displaced-sample object is kept when its decay
    is farther (transverse) than this; ``cluster_min_e``: clusters below it are no part of
    an object; ``gun_photons``: in an event without an ALP (status-2 PDG 36), every
    status-1 photon is a truth photon (the ``gun`` preset's prompt photons).
    """

    kind: str = "photon"
    inputs: dict[str, list[str]] = field(default_factory=dict)
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    object: str = "cluster"
    min_cluster_e: float = 5.0
    max_abs_eta: float = 2.5
    jet_radius: float = 0.4
    jet_min_pt: float = 5.0
    match_dr: float = 0.1
    lxy_threshold_mm: float = 100.0
    cluster_min_e: float = 0.4
    gun_photons: bool = True
    length: int = 256  # L: cells per object (the highest-energy ones kept)
    image: ImageConfig = field(default_factory=ImageConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    events_per_chunk: int = 250
    photons_per_file: int = 5000
    split: SplitConfig = field(default_factory=SplitConfig)
    seed: int = 0  # shuffling of the objects across the stage-2 files
    compress: bool = True
    event_tree: str = "EventTree"
    geometry_tree: str = "CellGeo"


def validate_photon_config(cfg: PhotonPrepConfig) -> None:
    """One line naming the key of a value that cannot work."""
    if cfg.kind != "photon":
        raise UserError(f"kind: {cfg.kind!r} is not a photon config (kind: photon)")
    if list(cfg.classes) != list(CLASSES):
        raise UserError(
            f"classes: must be {list(CLASSES)} (the contract's order), got {cfg.classes}"
        )
    for name in cfg.inputs:
        if name not in CLASSES:
            raise UserError(f"inputs: unknown class {name!r}" + did_you_mean(name, CLASSES))
    if not cfg.inputs:
        raise UserError("no inputs: give inputs in the config or --input CLASS=GLOB")
    if cfg.object not in OBJECTS:
        raise UserError(f"object: unknown {cfg.object!r}; valid: {', '.join(OBJECTS)}"
                        + did_you_mean(cfg.object, OBJECTS))  # fmt: skip
    if cfg.length < 1 or cfg.events_per_chunk < 1 or cfg.photons_per_file < 1:
        raise UserError("length, events_per_chunk and photons_per_file must be >= 1")
    if cfg.match_dr <= 0 or cfg.jet_radius <= 0 or cfg.lxy_threshold_mm < 0:
        raise UserError(f"match_dr ({cfg.match_dr}) and jet_radius ({cfg.jet_radius}) must be "
                        f"> 0, lxy_threshold_mm ({cfg.lxy_threshold_mm}) >= 0")  # fmt: skip
    im, g = cfg.image, cfg.graph
    if im.n_eta < 1 or im.n_phi < 1 or len(im.pixel) != 2 or min(im.pixel) <= 0:
        raise UserError(f"image: n_eta, n_phi >= 1 and pixel [d_eta, d_phi] > 0, got {im}")
    if g.max_nodes < 1 or g.max_edges < 1 or g.same_layer_dr < 0 or g.next_layer_dr < 0:
        raise UserError(f"graph: max_nodes, max_edges >= 1 and distances >= 0, got {g}")
    try:
        split_fractions(cfg.split.train, cfg.split.val, cfg.split.test)
    except ValueError as exc:
        raise UserError(f"split: {exc}") from None

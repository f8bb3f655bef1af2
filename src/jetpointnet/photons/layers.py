"""The image depth of seed 003: barrel (4), end-cap (5) and extended-barrel (3) layers.

The calorimeter's CaloSampling numbers (:data:`jetpointnet.io.mltree_layout.SAMPLING`) map
to a depth index 0..11 in :data:`IMAGE_LAYERS` order; samplings in no group (HEC1-3, the
Tile barrel and gap, FCal) get -1: they stay among an object's cells but are in no image
layer and no graph node.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.io.mltree_layout import SAMPLING

__all__ = ["IMAGE_GROUPS", "IMAGE_LAYERS", "depth_of", "group_of_depth"]

#: Layer groups (seed 003: 4 barrel, 5 end-cap, 3 extended-barrel samplings).
IMAGE_GROUPS: dict[str, tuple[str, ...]] = {
    "barrel": ("PreSamplerB", "EMB1", "EMB2", "EMB3"),
    "endcap": ("PreSamplerE", "EME1", "EME2", "EME3", "HEC0"),
    "extended": ("TileExt0", "TileExt1", "TileExt2"),
}
#: The 12 sampling names in image-depth order.
IMAGE_LAYERS: tuple[str, ...] = tuple(n for g in IMAGE_GROUPS.values() for n in g)

_DEPTH = np.full(max(SAMPLING.values()) + 1, -1, np.int64)
for _k, _name in enumerate(IMAGE_LAYERS):
    _DEPTH[SAMPLING[_name]] = _k
_GROUP = np.concatenate([np.full(len(g), i) for i, g in enumerate(IMAGE_GROUPS.values())])


def depth_of(sampling: np.ndarray) -> np.ndarray:
    """int64 depth index (0..11, -1 for none) of CaloSampling numbers."""
    s = np.asarray(sampling, np.int64)
    ok = (s >= 0) & (s < len(_DEPTH))
    return np.where(ok, _DEPTH[np.clip(s, 0, len(_DEPTH) - 1)], -1)


def group_of_depth(depth: np.ndarray) -> np.ndarray:
    """int64 group index (0 barrel, 1 end-cap, 2 extended barrel; -1 none) of depths."""
    d = np.asarray(depth, np.int64)
    return np.where(d >= 0, _GROUP[np.clip(d, 0, len(_GROUP) - 1)], -1)

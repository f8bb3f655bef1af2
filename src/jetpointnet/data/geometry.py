"""Cell geometry lookup and track-layer intersection points.

Real MLTree files do not order cell IDs, so :class:`CellTable` sorts the ``CellGeo``
columns by ID once and finds rows through a numpy hash table of the IDs
(:class:`~jetpointnet.data.id_index.IdIndex`, vectorised, no dict).
Units: mm for positions and volumes, GeV for noise, radians for angles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from jetpointnet.data.id_index import IdIndex
from jetpointnet.io.mltree_layout import TRACK_LAYERS, TRACK_SURFACES

__all__ = ["CellTable", "layer_points"]


@dataclass(frozen=True)
class CellTable:
    """``CellGeo`` columns sorted by cell ID; :meth:`lookup` maps IDs to rows."""

    ids: np.ndarray  # uint64, sorted, unique
    layer: np.ndarray  # int16 CaloSampling number
    eta: np.ndarray  # float32
    phi: np.ndarray  # float32
    x: np.ndarray  # float32 mm
    y: np.ndarray  # float32 mm
    z: np.ndarray  # float32 mm
    deta: np.ndarray  # float32
    dphi: np.ndarray  # float32
    volume: np.ndarray  # float32 mm^3
    sigma: np.ndarray  # float32 GeV

    @classmethod
    def from_geometry(cls, geo: dict[str, np.ndarray]) -> CellTable:
        """Build from :func:`jetpointnet.io.mltree_reader.read_geometry`'s arrays.

        Duplicated IDs keep their first row.
        """
        ids = np.asarray(geo["cell_geo_ID"]).astype(np.uint64, copy=False)
        uniq, first = np.unique(ids, return_index=True)

        def col(name: str, dtype: type) -> np.ndarray:
            return np.asarray(geo[name])[first].astype(dtype, copy=False)

        eta = col("cell_geo_eta", np.float32)
        phi = col("cell_geo_phi", np.float32)
        r = col("cell_geo_rPerp", np.float64)
        return cls(
            ids=uniq,
            layer=col("cell_geo_sampling", np.int16),
            eta=eta,
            phi=phi,
            x=(r * np.cos(phi)).astype(np.float32),
            y=(r * np.sin(phi)).astype(np.float32),
            z=(r * np.sinh(eta.astype(np.float64))).astype(np.float32),
            deta=col("cell_geo_deta", np.float32),
            dphi=col("cell_geo_dphi", np.float32),
            volume=col("cell_geo_volume", np.float32),
            sigma=col("cell_geo_sigma", np.float32),
        )

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def _index(self) -> IdIndex:
        return IdIndex(self.ids)  # built on the first lookup (~15 ms for 190 k cells)

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``ids`` (int64) and a boolean ``found`` mask (rows of unknown IDs: 0)."""
        return self._index.rows(ids)


_R_LAYERS = np.array([TRACK_SURFACES[name][0] == "r" for name in TRACK_LAYERS])
_SURFACE = np.array([TRACK_SURFACES[name][1] for name in TRACK_LAYERS], dtype=np.float64)


def layer_points(eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection points (mm) of tracks with the layer surfaces of ``TRACK_LAYERS``.

    ``eta`` and ``phi`` have shape (tracks, len(TRACK_LAYERS)), NaN where a track does not
    reach a layer. Barrel layers sit at fixed transverse radius r (z = r sinh(eta));
    end-cap layers at fixed |z| on the side given by the sign of eta (z = sign(eta) |z|,
    r = |z| / |sinh(eta)|). Returns x, y, z as float32 arrays of the same shape, NaN where
    missing.
    """
    eta64 = np.asarray(eta, dtype=np.float64)
    phi64 = np.asarray(phi, dtype=np.float64)
    sh = np.sinh(eta64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(_R_LAYERS, _SURFACE, _SURFACE / np.abs(sh))
        z = np.where(_R_LAYERS, _SURFACE * sh, np.sign(eta64) * _SURFACE)
    r = np.where(np.isfinite(r) & np.isfinite(eta64) & np.isfinite(phi64), r, np.nan)
    x = r * np.cos(phi64)
    y = r * np.sin(phi64)
    z = np.where(np.isfinite(x), z, np.nan)
    return x.astype(np.float32), y.astype(np.float32), z.astype(np.float32)

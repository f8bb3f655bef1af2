"""Interactive event display as one self-contained HTML file (no dependencies, no network).

Why not plotly: it is not installed, and a self-contained plotly page embeds about 4 MB of
JavaScript per file, while this display is a few kB of plain canvas code plus the
sample's data as JSON. It opens in any browser, offline.

The page shows, side by side, the true and the predicted focal energy of each cell:
an eta-phi view of one layer (chosen in a menu, or all layers overlaid) and a 3-D view
(x, y, z in mm) that rotates with the mouse. Tracks are drawn through their layer points
(focused: red, others: orange). Hovering a cell in the eta-phi view prints its values.
Input: the display dict of :mod:`jetpointnet.plotting.event_display`.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.mltree_layout import SAMPLING_NAME

__all__ = ["html_display", "write_html_display"]

_JS = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const C = D.cells, N = C.eta.length;
const sel = document.getElementById('layer');
const layers = [...new Set(C.layer)].sort((a, b) => a - b);
sel.add(new Option('all layers', 'all'));
for (const l of layers) sel.add(new Option(D.layer_names[l] || l, l));
let vmax = 1e-9; for (let i = 0; i < N; i++) vmax = Math.max(vmax, C.true[i], C.pred[i]);
const vmin = vmax * 1e-3;
function colour(v) {
  if (!(v > vmin)) return 'rgb(235,235,235)';
  const t = Math.log(v / vmin) / Math.log(vmax / vmin);
  const r = Math.round(68 + t * (253 - 68)), g = Math.round(1 + t * (231 - 1)), b = Math.round(84 + t * (37 - 84));
  return `rgb(${r},${g},${b})`;
}
function idx() { const v = sel.value; const out = []; for (let i = 0; i < N; i++) if (v === 'all' || C.layer[i] == v) out.push(i); return out; }
function drawEtaPhi(id, key) {
  const cv = document.getElementById(id), ctx = cv.getContext('2d'), ii = idx();
  ctx.clearRect(0, 0, cv.width, cv.height);
  if (!ii.length) return;
  let e0 = Infinity, e1 = -Infinity, p0 = Infinity, p1 = -Infinity;
  for (const i of ii) { e0 = Math.min(e0, C.eta[i] - C.deta[i]); e1 = Math.max(e1, C.eta[i] + C.deta[i]); p0 = Math.min(p0, C.phi[i] - C.dphi[i]); p1 = Math.max(p1, C.phi[i] + C.dphi[i]); }
  const sx = (cv.width - 40) / (e1 - e0), sy = (cv.height - 40) / (p1 - p0);
  const X = e => 30 + (e - e0) * sx, Y = p => cv.height - 20 - (p - p0) * sy;
  cv._map = { X, Y, ii, key };
  for (const i of ii) { ctx.fillStyle = colour(C[key][i]); ctx.strokeStyle = '#bbb';
    const x = X(C.eta[i] - C.deta[i] / 2), y = Y(C.phi[i] + C.dphi[i] / 2);
    ctx.fillRect(x, y, C.deta[i] * sx, C.dphi[i] * sy); ctx.strokeRect(x, y, C.deta[i] * sx, C.dphi[i] * sy); }
  for (const t of D.tracks) { ctx.strokeStyle = t.focused ? 'red' : 'orange'; ctx.setLineDash([5, 3]); ctx.beginPath(); let first = true;
    t.layer_eta.forEach((e, k) => { const p = t.layer_phi[k]; if (e === null || p === null) return; if (first) ctx.moveTo(X(e), Y(p)); else ctx.lineTo(X(e), Y(p)); first = false; });
    ctx.stroke(); ctx.setLineDash([]); }
  ctx.fillStyle = 'black'; ctx.fillText('eta', cv.width - 30, cv.height - 5); ctx.fillText('phi', 2, 12);
}
let rotA = 0.6, rotB = 0.3;
function draw3d(id, key) {
  const cv = document.getElementById(id), ctx = cv.getContext('2d');
  ctx.clearRect(0, 0, cv.width, cv.height);
  const pts = []; let cx = 0, cy = 0, cz = 0;
  for (let i = 0; i < N; i++) { cx += C.x[i] / N; cy += C.y[i] / N; cz += C.z[i] / N; }
  let s = 1; for (let i = 0; i < N; i++) s = Math.max(s, Math.abs(C.x[i] - cx), Math.abs(C.y[i] - cy), Math.abs(C.z[i] - cz));
  const k = 0.45 * Math.min(cv.width, cv.height) / s;
  function proj(x, y, z) { x -= cx; y -= cy; z -= cz;
    const x1 = x * Math.cos(rotA) - z * Math.sin(rotA), z1 = x * Math.sin(rotA) + z * Math.cos(rotA);
    const y1 = y * Math.cos(rotB) - z1 * Math.sin(rotB), z2 = y * Math.sin(rotB) + z1 * Math.cos(rotB);
    return [cv.width / 2 + k * x1, cv.height / 2 - k * y1, z2]; }
  for (let i = 0; i < N; i++) pts.push([...proj(C.x[i], C.y[i], C.z[i]), i]);
  pts.sort((a, b) => a[2] - b[2]);
  for (const [x, y, , i] of pts) { ctx.fillStyle = colour(C[key][i]); const r = 2 + 6 * Math.sqrt(Math.max(C[key][i], 0) / vmax);
    ctx.beginPath(); ctx.arc(x, y, r, 0, 6.283); ctx.fill(); }
  for (const t of D.tracks) { ctx.strokeStyle = t.focused ? 'red' : 'orange'; ctx.beginPath(); let first = true;
    t.layer_x.forEach((x, j) => { if (x === null || t.layer_y[j] === null || t.layer_z[j] === null) return; const [u, v] = proj(x, t.layer_y[j], t.layer_z[j]); if (first) ctx.moveTo(u, v); else ctx.lineTo(u, v); first = false; });
    ctx.stroke(); }
}
function redraw() { drawEtaPhi('ep_true', 'true'); drawEtaPhi('ep_pred', 'pred'); draw3d('d3_true', 'true'); draw3d('d3_pred', 'pred'); }
sel.onchange = redraw;
for (const id of ['d3_true', 'd3_pred']) { const cv = document.getElementById(id); let drag = null;
  cv.onmousedown = e => drag = [e.clientX, e.clientY, rotA, rotB]; window.addEventListener('mouseup', () => drag = null);
  cv.onmousemove = e => { if (!drag) return; rotA = drag[2] + (e.clientX - drag[0]) * 0.01; rotB = drag[3] + (e.clientY - drag[1]) * 0.01; redraw(); }; }
for (const id of ['ep_true', 'ep_pred']) { const cv = document.getElementById(id);
  cv.onmousemove = e => { const m = cv._map; if (!m) return; const r = cv.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
    for (const i of m.ii) { const x0 = m.X(C.eta[i] - C.deta[i] / 2), x1 = m.X(C.eta[i] + C.deta[i] / 2), y0 = m.Y(C.phi[i] + C.dphi[i] / 2), y1 = m.Y(C.phi[i] - C.dphi[i] / 2);
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) { document.getElementById('info').textContent =
        `${D.layer_names[C.layer[i]] || C.layer[i]} eta ${C.eta[i].toFixed(3)} phi ${C.phi[i].toFixed(3)}: E ${C.energy[i].toFixed(3)} GeV, true focal ${C.true[i].toFixed(3)}, predicted ${C.pred[i].toFixed(3)}`; return; } } }; }
redraw();
"""


def _clean(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def html_display(display: dict[str, Any]) -> str:
    """The page as a string (data embedded as JSON; NaN becomes null)."""
    data = _clean(
        {
            "cells": display["cells"],
            "tracks": display.get("tracks", []),
            "layer_names": {str(k): v for k, v in SAMPLING_NAME.items()},
        }
    )
    payload = json.dumps(data).replace("</", "<\\/")
    title = html.escape(display.get("title", "event display"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1em}} canvas{{border:1px solid #ccc;margin:4px}}
.row{{display:flex;flex-wrap:wrap}} .cap{{font-size:small;color:#444}}</style></head>
<body><h3>{title}</h3><p class="cap">jetpointnet simulation. Left: true focal energy,
right: predicted (log colour scale, common). Drag the 3-D views to rotate.</p>
<label>layer <select id="layer"></select></label> <span id="info" class="cap"></span>
<div class="row"><canvas id="ep_true" width="460" height="380"></canvas>
<canvas id="ep_pred" width="460" height="380"></canvas></div>
<div class="row"><canvas id="d3_true" width="460" height="380"></canvas>
<canvas id="d3_pred" width="460" height="380"></canvas></div>
<script type="application/json" id="data">{payload}</script>
<script>{_JS}</script></body></html>
"""


def write_html_display(
    display: dict[str, Any], path: str | os.PathLike[str], *, overwrite: bool = True
) -> Path:
    """Write the interactive display to ``path`` (atomically)."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(html_display(display))
    return Path(path)

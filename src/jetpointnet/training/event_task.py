"""The event-level particle-flow loss: Hungarian matching, incidence, existence, class, kinematics.

HGPflow's loss (arXiv:2410.23236, sec. 4) on :class:`~jetpointnet.models.event_pflow.EventPflow`
outputs and a batch of :mod:`jetpointnet.training.event_stream`:

1. Matching. Track slots are fixed (slot ``i`` is the target of track ``i``). The ``K``
   neutral slots are matched to the ``Kn`` target neutrals of each event with
   ``scipy.optimize.linear_sum_assignment`` on the cost
   ``cost_class * (-ln p(class)) + cost_kinematics * (|d ln E| + |d eta| + |d phi|)
   + cost_incidence * C_inc``, where ``C_inc`` is the energy-weighted cross-entropy of the
   slot's incidence column against the target's, over the target's cells (``E_c q_tc``
   weights, normalised). Targets left without a slot (more targets than ``K``) become
   noise in the incidence target; unmatched slots must not exist.
2. Terms (each a mean, weighted by the task options ``w_*``):
   ``incidence``: per cell the KL divergence of the predicted distribution over slots +
   noise from the target, weighted by the cell energy (``incidence_weight: E``) or not;
   ``existence``: BCE over real slots; ``class``: cross-entropy over existing target
   slots; ``kinematics``: squared errors of ``ln E``, ``eta`` and wrapped ``phi`` of
   matched neutral slots (charged slots take the track momentum and are not regressed).

The loss of a prediction equal to the targets is zero (KL, not cross-entropy, for the
incidence) and does not depend on the order of the neutral slots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from jetpointnet.config import from_dict
from jetpointnet.errors import UserError
from jetpointnet.models.heads import HeadSpec
from jetpointnet.training.config import TaskConfig
from jetpointnet.training.tasks import Task, register_task

__all__ = ["EventTask", "EventTaskOptions", "match_neutrals", "wrap_phi"]

Out = Mapping[str, torch.Tensor]


@dataclass
class EventTaskOptions:
    """``task.options`` of the ``event`` task: term weights, matching-cost weights."""

    w_incidence: float = 1.0
    w_existence: float = 1.0
    w_class: float = 1.0
    w_kinematics: float = 1.0
    cost_class: float = 1.0
    cost_kinematics: float = 1.0
    cost_incidence: float = 1.0
    incidence_weight: Literal["E", "none"] = "E"


def wrap_phi(dphi: torch.Tensor) -> torch.Tensor:
    """An azimuth difference folded into [-pi, pi)."""
    return torch.remainder(dphi + math.pi, 2 * math.pi) - math.pi


def _cell_weight(batch: Out, how: str) -> torch.Tensor:
    mask = batch["cell_mask"].to(torch.float32)
    return batch["cell_energy"].float().clamp(min=0) * mask if how == "E" else mask


@torch.no_grad()
def _costs(out: Out, batch: Out, opts: EventTaskOptions) -> torch.Tensor:
    """Matching costs ``(B, K, Kn)`` of neutral slot j against target neutral t."""
    nt = batch["track_mask"].shape[1]
    logp = torch.log_softmax(out["class_logits"][:, nt:].float(), dim=-1)  # (B, K, 5)
    cls = batch["neutral_class"].clamp(min=0)  # (B, Kn)
    c_cls = -torch.gather(logp, 2, cls.unsqueeze(1).expand(-1, logp.shape[1], -1))  # (B, K, Kn)
    d_e = (out["energy"][:, nt:].float().clamp(min=1e-6).log().unsqueeze(2)
           - batch["neutral_e"].float().clamp(min=1e-6).log().unsqueeze(1))  # fmt: skip
    d_eta = out["eta"][:, nt:].float().unsqueeze(2) - batch["neutral_eta"].float().unsqueeze(1)
    d_phi = wrap_phi(out["phi"][:, nt:].float().unsqueeze(2) - batch["neutral_phi"].unsqueeze(1))
    c_kin = d_e.abs() + d_eta.abs() + d_phi.abs()  # (B, K, Kn)
    logq = torch.log_softmax(out["incidence"].float(), dim=-1)[:, :, nt:-1]  # (B, Nc, K)
    w = _cell_weight(batch, opts.incidence_weight).unsqueeze(-1)  # (B, Nc, 1)
    qt = batch["q"][:, :, nt:-1].float() * w  # (B, Nc, Kn) weighted target columns
    c_inc = -(logq.transpose(1, 2) @ qt) / qt.sum(1, keepdim=True).clamp(min=1e-9)  # (B, K, Kn)
    return opts.cost_class * c_cls + opts.cost_kinematics * c_kin + opts.cost_incidence * c_inc


def match_neutrals(out: Out, batch: Out, opts: EventTaskOptions) -> torch.Tensor:
    """Per neutral slot, the index of its matched target neutral or -1: ``(B, K)`` int64."""
    cost = _costs(out, batch, opts).cpu().double().numpy()  # (B, K, Kn)
    n_true = batch["neutral_mask"].sum(1).cpu().numpy()
    match = np.full(cost.shape[:2], -1, dtype=np.int64)
    for b in range(cost.shape[0]):
        if n_true[b]:
            rows, cols = linear_sum_assignment(cost[b, :, : int(n_true[b])])
            match[b, rows] = cols
    return torch.from_numpy(match).to(out["existence"].device)


def _aligned(out: Out, batch: Out, match: torch.Tensor) -> dict[str, torch.Tensor]:
    """Targets laid out like the slots: incidence (B, Nc, S+1), existence, class (B, S)."""
    nt = batch["track_mask"].shape[1]
    q = batch["q"].float()  # (B, Nc, Nt + Kn + 1)
    qn = q[:, :, nt:-1]  # (B, Nc, Kn)
    ok = match >= 0  # (B, K)
    idx = match.clamp(min=0)
    q_slots = torch.gather(qn, 2, idx.unsqueeze(1).expand(-1, q.shape[1], -1))  # (B, Nc, K)
    q_slots = q_slots * ok.unsqueeze(1)
    kn = qn.shape[2]
    used = (match.unsqueeze(2) == torch.arange(kn, device=match.device)).any(1)  # (B, Kn)
    left = (qn * (~used).unsqueeze(1)).sum(-1, keepdim=True)  # (B, Nc, 1) lost targets
    q_t = torch.cat([q[:, :, :nt], q_slots, q[:, :, -1:] + left], dim=-1)  # (B, Nc, S + 1)
    n_cls = torch.gather(batch["neutral_class"], 1, idx).masked_fill(~ok, -1)  # (B, K)
    cls = torch.cat([batch["charged_class"].masked_fill(~batch["track_mask"], -1), n_cls], 1)

    def pick(name: str) -> torch.Tensor:
        return torch.gather(batch[name].float(), 1, idx)  # (B, K)

    return {"q": q_t, "exists": cls >= 0, "class": cls, "matched": ok,
            "e": pick("neutral_e"), "eta": pick("neutral_eta"), "phi": pick("neutral_phi")}  # fmt: skip


def _mean(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (x * w).sum() / w.sum().clamp(min=1e-9)


@register_task
class EventTask(Task):
    """The ``event`` task: :func:`terms` summed with the weights of :class:`EventTaskOptions`."""

    name = "event"
    target = "q"
    val_keys = ("cell_energy_correct", "loss_incidence", "loss_existence", "loss_class",
                "loss_kinematics")  # fmt: skip

    def __init__(self, cfg: TaskConfig) -> None:
        super().__init__(cfg)
        raw = getattr(cfg, "options", None) or {}
        self.options: EventTaskOptions = from_dict(
            EventTaskOptions, raw, where="config", prefix="task.options."
        )

    @property
    def head(self) -> HeadSpec:
        raise UserError("task 'event' has no per-point head: its model is built by kind 'event'")

    def terms(self, out: Out, batch: Out) -> dict[str, torch.Tensor]:
        """The four unweighted terms (scalars) after matching the neutral slots."""
        opts = self.options
        tgt = _aligned(out, batch, match_neutrals(out, batch, opts))
        nt = batch["track_mask"].shape[1]
        logq = torch.log_softmax(out["incidence"].float(), dim=-1)  # (B, Nc, S + 1)
        qt = tgt["q"]
        kl = torch.where(qt > 0, qt * (torch.log(qt.clamp(min=1e-12)) - logq), 0.0).sum(-1)
        incidence = _mean(kl, _cell_weight(batch, opts.incidence_weight))
        slot_ok = torch.cat([batch["track_mask"], torch.ones_like(tgt["matched"])], 1).float()
        bce = F.binary_cross_entropy_with_logits(
            out["existence"].float(), tgt["exists"].float(), reduction="none"
        )
        existence = _mean(bce, slot_ok)
        ce = F.cross_entropy(
            out["class_logits"].float().flatten(0, 1), tgt["class"].clamp(min=0).flatten(),
            reduction="none",
        ).view_as(bce)  # fmt: skip
        klass = _mean(ce, tgt["exists"].float())
        m = tgt["matched"].float()
        d_e = out["energy"][:, nt:].float().clamp(min=1e-6).log() - tgt["e"].clamp(min=1e-6).log()
        d_eta = out["eta"][:, nt:].float() - tgt["eta"]
        d_phi = wrap_phi(out["phi"][:, nt:].float() - tgt["phi"])
        kinematics = _mean(d_e**2 + d_eta**2 + d_phi**2, m)
        return {"incidence": incidence, "existence": existence, "class": klass,
                "kinematics": kinematics}  # fmt: skip

    def loss(self, out: Out, batch: Out) -> torch.Tensor:  # type: ignore[override]
        o = self.options
        t = self.terms(out, batch)
        return (o.w_incidence * t["incidence"] + o.w_existence * t["existence"]
                + o.w_class * t["class"] + o.w_kinematics * t["kinematics"])  # fmt: skip

    def predict(self, out: Out) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """Probabilities: ``incidence`` (B, Nc, S+1), ``existence`` (B, S), ``classes`` (B, S, 5)."""
        return {
            "incidence": torch.softmax(out["incidence"].float(), dim=-1),
            "existence": torch.sigmoid(out["existence"].float()),
            "classes": torch.softmax(out["class_logits"].float(), dim=-1),
        }

    def predicted_focal(self, out: Out, batch: Out) -> torch.Tensor:  # type: ignore[override]
        raise UserError("task 'event' has no focal cells (it predicts particles)")

    def batch_weight(self, batch: Out) -> torch.Tensor:
        """The epoch mean is over samples (events or regions)."""
        m = batch["cell_mask"]  # a fill on the device, not a host-to-device copy (no sync)
        return torch.full((), float(m.shape[0]), dtype=torch.float64, device=m.device)

    @torch.no_grad()
    def val_counts(self, out: Out, batch: Out) -> dict[str, torch.Tensor]:
        """Per-batch sums over samples of: the energy-weighted fraction of core-cell energy
        whose most probable slot is the target's largest contributor (after matching), the
        four loss terms times the batch size."""
        tgt = _aligned(out, batch, match_neutrals(out, batch, self.options))
        w = _cell_weight(batch, "E")  # (B, Nc)
        if "cell_core" in batch:  # each cell counted once: in the sample it is core in
            w = w * batch["cell_core"].to(w.dtype)
        right = (out["incidence"].argmax(-1) == tgt["q"].argmax(-1)).float()  # (B, Nc)
        frac = (right * w).sum(1) / w.sum(1).clamp(min=1e-9)  # (B,)
        n = float(w.shape[0])
        counts = {"cell_energy_correct": frac.sum().double()}
        terms = self.terms(out, batch)
        counts.update({f"loss_{k}": v.detach().double() * n for k, v in terms.items()})
        return counts

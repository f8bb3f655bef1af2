"""Event-level particle flow: a transformer that shares every cell among the event's particles.

Seed 002 (a transformer assigning every calorimeter hit of an event to a particle, with
a class cross-entropy and a kinematics MSE) made well-posed as HGPflow does (Di Bello
et al., "Hypergraph particle flow", arXiv:2410.23236, EPJC 2025): the network predicts an
*incidence matrix*, the fraction of each cell's energy that belongs to each particle,
plus each particle's existence, class and kinematics.

Data flow, for ``Nc`` cells and ``Nt`` tracks of a batch of ``B`` events (or regions)::

    cells  (B, Nc, Fc) + ln E ─ MLP ─┐
                                     ├─ tokens (B, Nt+Nc, D) ─ [pre-norm block] x enc_depth
    tracks (B, Nt, Ft) + ln pT ─ MLP ─┘   pair bias (B, H, Nt+Nc, Nt+Nc) from ln Delta-R
    slots (B, S = Nt + K, D): one per track (its encoded token, fixed, no matching)
                              + K learned neutral queries
    slots ─ [self-attention, cross-attention to the tokens, FFN] x dec_depth
    per cell c, slot k: incidence logit <u_c, v_k> / sqrt(D); per cell a noise logit
    per slot: existence logit, class logits (5), kinematics correction (d ln E, d eta, d phi)

Tracks enter the Delta-R bias at their calorimeter impact (``track_calo_eta``/``_phi``;
``impact: false`` or no impact given: the perigee direction), where their showers lie.

Kinematics: the *proxy* of slot k has energy ``E_k = sum_c q_kc E_c`` (q: the softmax of
the incidence logits over the slots and the noise slot, detached) and the energy-weighted
direction of its cells; a neutral slot's prediction is the proxy corrected by the head
(``ln E = ln E_k + d ln E``, ``eta = eta_k + d eta``, ``phi = phi_k + d phi``); a charged
slot takes the track momentum (``E = pT cosh eta`` before the class mass, see
:mod:`jetpointnet.predict.event_particles`).

No positional encoding anywhere: the outputs are equivariant under permutations of the
cells, of the tracks (with their slots), and of the neutral queries (permuting the rows
of ``neutral_queries`` permutes the neutral slots' outputs). Padded cells and tracks get
a key logit of ``-max`` and never influence a real one. Units: GeV, radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from jetpointnet.models.layers import Norm, SharedMLP, make_norm
from jetpointnet.models.transformer import Block, TransformerConfig

__all__ = ["EVENT_MODELS", "N_CLASSES", "OUTPUTS", "EventPflow", "EventPflowConfig"]

#: Particle classes of the event contract (index = position).
N_CLASSES = 5
#: The model's outputs, in the order of an ONNX export.
OUTPUTS = ("incidence", "existence", "class_logits", "energy", "eta", "phi", "proxy_energy")
_NEG = -1.0e4  # logit of an impossible slot (finite, so softmax and ONNX stay NaN-free)


@dataclass
class EventPflowConfig:
    """Options of :class:`EventPflow` (defaults: a CPU-sized model, width 64)."""

    dim: int = 64
    heads: int = 4
    enc_depth: int = 3
    dec_depth: int = 2
    ffn_ratio: int = 4
    n_neutral: int = 16  # K learned neutral-particle queries (>= the most neutrals per sample)
    embed: list[int] = field(default_factory=lambda: [64])
    pair_mlp: list[int] = field(default_factory=lambda: [16])
    head_mlp: list[int] = field(default_factory=lambda: [64])
    dropout: float = 0.0
    norm: Norm = "layer"
    impact: bool = True  # Delta-R of a track from its calorimeter impact (else its perigee)


def _eta_phi_delta_r(eta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """Delta-R ``(B, N, N)`` between all tokens (``|dphi|`` wrapped through cos/sin)."""
    deta = eta.unsqueeze(2) - eta.unsqueeze(1)  # (B, N, N)
    dc = torch.cos(phi).unsqueeze(2) - torch.cos(phi).unsqueeze(1)
    ds = torch.sin(phi).unsqueeze(2) - torch.sin(phi).unsqueeze(1)
    chord = torch.sqrt((dc * dc + ds * ds).clamp(min=0.0))  # (B, N, N)
    dphi = 2.0 * torch.asin((0.5 * chord).clamp(max=1.0))
    return torch.sqrt(deta * deta + dphi * dphi)


class CrossBlock(nn.Module):
    """Pre-norm cross-attention of slots to tokens, then a pre-norm FFN."""

    def __init__(self, cfg: EventPflowConfig) -> None:
        super().__init__()
        d = cfg.dim
        self.heads = cfg.heads
        self.norm_q = make_norm(d, "layer")
        self.norm_kv = make_norm(d, "layer")
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = make_norm(d, "layer")
        self.ffn = nn.Sequential(
            nn.Linear(d, cfg.ffn_ratio * d), nn.GELU(), nn.Linear(cfg.ffn_ratio * d, d)
        )

    def forward(self, s: torch.Tensor, h: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        b, ns, d = s.shape
        n = h.shape[1]
        dh = d // self.heads
        q = self.q(self.norm_q(s)).reshape(b, ns, self.heads, dh).transpose(1, 2)  # (B, H, S, d)
        k, v = self.kv(self.norm_kv(h)).chunk(2, dim=-1)  # (B, N, D) each
        k = k.reshape(b, n, self.heads, dh).transpose(1, 2)  # (B, H, N, d)
        v = v.reshape(b, n, self.heads, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + key_bias, dim=-1)  # (B,H,S,N)
        s = s + self.proj((att @ v).transpose(1, 2).reshape(b, ns, d))
        return s + self.ffn(self.norm2(s))


class EventPflow(nn.Module):
    """``forward(**batch arrays)`` -> dict of :data:`OUTPUTS` (see the module docstring).

    Shapes, for ``S = Nt + K`` slots (track slots first, then the neutral slots):
    ``incidence`` (B, Nc, S + 1) logits (last column: noise; padded track slots ``-1e4``),
    ``existence`` (B, S) logits, ``class_logits`` (B, S, 5), ``energy`` (B, S) GeV,
    ``eta``, ``phi`` (B, S), ``proxy_energy`` (B, S) GeV.
    """

    def __init__(self, n_cell_features: int, n_track_features: int, cfg: EventPflowConfig) -> None:
        super().__init__()
        if cfg.dim % cfg.heads:
            raise ValueError(f"event_pflow: dim {cfg.dim} is not a multiple of heads {cfg.heads}")
        self.cfg = cfg
        d = cfg.dim
        block_cfg = TransformerConfig(
            dim=d, heads=cfg.heads, ffn_ratio=cfg.ffn_ratio, dropout=cfg.dropout, norm="layer"
        )
        self.cell_embed = SharedMLP(n_cell_features + 1, [*cfg.embed, d], norm="none")
        self.track_embed = SharedMLP(n_track_features + 1, [*cfg.embed, d], norm="none")
        self.cell_out = nn.Linear(d, d)  # after the ReLU of the MLPs: signed embeddings
        self.track_out = nn.Linear(d, d)
        self.pair_mlp = SharedMLP(3, cfg.pair_mlp, norm="none")
        self.pair_out = nn.Linear(self.pair_mlp.out_channels, cfg.heads)
        self.encoder = nn.ModuleList(Block(block_cfg) for _ in range(cfg.enc_depth))
        self.enc_norm = make_norm(d, "layer")
        self.charged_query = nn.Parameter(torch.zeros(d))
        self.neutral_queries = nn.Parameter(torch.randn(cfg.n_neutral, d) * 0.5)
        self.dec_self = nn.ModuleList(Block(block_cfg) for _ in range(cfg.dec_depth))
        self.dec_cross = nn.ModuleList(CrossBlock(cfg) for _ in range(cfg.dec_depth))
        self.dec_norm = make_norm(d, "layer")
        self.cell_key = nn.Linear(d, d)
        self.slot_key = nn.Linear(d, d)
        self.noise = nn.Linear(d, 1)
        self.slot_mlp = SharedMLP(d + 2, cfg.head_mlp, norm="none")  # + ln E_proxy, is-track
        c = self.slot_mlp.out_channels
        self.existence = nn.Linear(c, 1)
        self.classes = nn.Linear(c, N_CLASSES)
        self.kinematics = nn.Linear(c, 3)
        nn.init.zeros_(self.kinematics.weight)  # start at the proxy
        nn.init.zeros_(self.kinematics.bias)

    def _encode(self, cell_x, cell_mask, cell_energy, cell_eta, cell_phi,
                track_x, track_mask, track_pt, track_eta, track_phi):  # fmt: skip
        """Encoded tokens ``(B, Nt+Nc, D)``, their mask and the key bias of padding
        (``track_eta``/``track_phi``: the track positions the Delta-R bias uses)."""
        cx = torch.cat([cell_x, torch.log(cell_energy.clamp(min=1e-3)).unsqueeze(-1)], dim=-1)
        tx = torch.cat([track_x, torch.log(track_pt.clamp(min=1e-3)).unsqueeze(-1)], dim=-1)
        hc = self.cell_out(self.cell_embed(cx))  # (B, Nc, D)
        ht = self.track_out(self.track_embed(tx))  # (B, Nt, D)
        h = torch.cat([ht, hc], dim=1)  # (B, N, D), N = Nt + Nc
        mask = torch.cat([track_mask, cell_mask], dim=1)  # (B, N)
        eta = torch.cat([track_eta, cell_eta], dim=1)  # (B, N)
        phi = torch.cat([track_phi, cell_phi], dim=1)
        is_track = torch.cat([torch.ones_like(track_eta), torch.zeros_like(cell_eta)], dim=1)
        dr = _eta_phi_delta_r(eta, phi)  # (B, N, N)
        u = torch.stack(
            [torch.log(dr + 1e-3), is_track.unsqueeze(2).expand_as(dr),
             is_track.unsqueeze(1).expand_as(dr)], dim=-1,
        )  # fmt: skip  # (B, N, N, 3)
        b, n = mask.shape
        keys = mask.view(b, 1, 1, n)  # (B, 1, 1, N)
        bias = self.pair_out(self.pair_mlp(u)).permute(0, 3, 1, 2)  # (B, H, N, N)
        bias = bias.masked_fill(~keys, torch.finfo(bias.dtype).min)
        for block in self.encoder:
            h = block(h, mask, bias)
        key_bias = torch.zeros_like(mask, dtype=h.dtype).masked_fill(~mask, _NEG).view(b, 1, 1, n)
        return self.enc_norm(h), mask, key_bias

    def forward(
        self,
        cell_x: torch.Tensor,  # (B, Nc, Fc) scaled cell features
        cell_mask: torch.Tensor,  # (B, Nc) bool, real cells
        cell_energy: torch.Tensor,  # (B, Nc) GeV, EM scale
        cell_eta: torch.Tensor,  # (B, Nc)
        cell_phi: torch.Tensor,  # (B, Nc)
        track_x: torch.Tensor,  # (B, Nt, Ft) scaled track features
        track_mask: torch.Tensor,  # (B, Nt) bool, real tracks
        track_pt: torch.Tensor,  # (B, Nt) GeV
        track_eta: torch.Tensor,  # (B, Nt)
        track_phi: torch.Tensor,  # (B, Nt) perigee
        track_calo_eta: torch.Tensor | None = None,  # (B, Nt) calorimeter impact
        track_calo_phi: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        nt = track_x.shape[1]
        use = self.cfg.impact and track_calo_eta is not None and track_calo_phi is not None
        pos_eta = track_calo_eta if use else track_eta
        pos_phi = track_calo_phi if use else track_phi
        h, _mask, key_bias = self._encode(cell_x, cell_mask, cell_energy, cell_eta, cell_phi,
                                         track_x, track_mask, track_pt, pos_eta, pos_phi)  # fmt: skip
        b, k = h.shape[0], self.cfg.n_neutral
        neutral = self.neutral_queries.unsqueeze(0).expand(b, k, -1)  # (B, K, D)
        s = torch.cat([h[:, :nt] + self.charged_query, neutral], dim=1)  # (B, S, D)
        slot_mask = torch.cat([track_mask, torch.ones_like(track_mask[:, :1]).expand(b, k)], 1)
        sb, ns = slot_mask.shape
        slot_bias = torch.zeros_like(slot_mask, dtype=h.dtype).masked_fill(~slot_mask, _NEG)
        self_bias = slot_bias.view(sb, 1, 1, ns)  # (B, 1, 1, S)
        for attn, cross in zip(self.dec_self, self.dec_cross, strict=True):
            s = attn(s, slot_mask, self_bias)
            s = cross(s, h, key_bias)
        s = self.dec_norm(s)  # (B, S, D)

        hc = h[:, nt:]  # (B, Nc, D)
        logits = self.cell_key(hc) @ self.slot_key(s).transpose(1, 2) / math.sqrt(h.shape[-1])
        logits = logits + slot_bias.unsqueeze(1)  # (B, Nc, S): padded track slots impossible
        incidence = torch.cat([logits, self.noise(hc)], dim=-1)  # (B, Nc, S + 1)
        incidence = incidence * cell_mask.unsqueeze(-1).to(incidence.dtype)

        q = torch.softmax(incidence, dim=-1)[..., :ns].detach()  # (B, Nc, S)
        w = q * (cell_energy * cell_mask.to(cell_energy.dtype)).unsqueeze(-1)  # (B, Nc, S)
        proxy_e = w.sum(dim=1)  # (B, S) GeV
        safe = proxy_e.clamp(min=1e-6)
        p_eta = (w * cell_eta.unsqueeze(-1)).sum(1) / safe  # (B, S)
        p_cos = (w * torch.cos(cell_phi).unsqueeze(-1)).sum(1)
        p_sin = (w * torch.sin(cell_phi).unsqueeze(-1)).sum(1)
        p_phi = torch.atan2(p_sin, p_cos)  # (B, S)

        is_track = torch.cat([torch.ones_like(track_pt), torch.zeros_like(proxy_e[:, nt:])], 1)
        feats = torch.cat([s, torch.log(safe).unsqueeze(-1), is_track.unsqueeze(-1)], dim=-1)
        z = self.slot_mlp(feats)  # (B, S, C)
        corr = self.kinematics(z)  # (B, S, 3)
        t_e = track_pt * torch.cosh(track_eta)  # (B, Nt) track momentum, GeV
        energy = torch.cat([t_e, safe[:, nt:] * torch.exp(corr[:, nt:, 0])], dim=1)
        eta = torch.cat([track_eta, p_eta[:, nt:] + corr[:, nt:, 1]], dim=1)
        phi = torch.cat([track_phi, p_phi[:, nt:] + corr[:, nt:, 2]], dim=1)
        existence = self.existence(z).squeeze(-1).masked_fill(~slot_mask, _NEG)  # (B, S)
        return {
            "incidence": incidence,
            "existence": existence,
            "class_logits": self.classes(z),
            "energy": energy,
            "eta": eta,
            "phi": phi,
            "proxy_energy": proxy_e,
        }


#: Event-level models: name -> (config class, builder(n_cell_features, n_track_features, cfg)).
EVENT_MODELS: dict[str, tuple[type, type[nn.Module]]] = {
    "event_pflow": (EventPflowConfig, EventPflow),
}

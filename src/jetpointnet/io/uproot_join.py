"""Reading nested-vector branches with the baskets joined by numpy, not ``ak.concatenate``.

uproot reads a branch basket by basket and joins the baskets that an entry range spans with
``awkward.concatenate``. For the MLTree's ``std::vector<std::vector<...>>`` branches that
join goes through awkward's general list merging, which copies every basket's whole content
(also the entries outside the range) and leaves list arrays that later steps pack again:
0.9 of the 3.4 s that reading 600 JZ3 events (six ranges of 100) takes.
:class:`JoinedLists` is uproot's own interpretation of such a branch (the same Forth reader,
the same form) whose last step instead slices each basket to the range and concatenates
offsets and values level by level with numpy: packed arrays, equal to uproot's
(``tests/test_uproot_join.py``).

:func:`read_branches` reads a list of branches of one tree that way where it applies and
through ``tree.arrays`` for the rest. A branch of another layout (records, an uproot that
changed its output) falls back to uproot's own join.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np
from uproot.behaviors.TBranch import TBranch
from uproot.interpretation.library import Awkward
from uproot.interpretation.objects import AsObjects

from jetpointnet.io.uproot_forth import nested_typenames

__all__ = ["JoinedLists", "join_list_pieces", "read_branches"]

_NESTED = frozenset(nested_typenames())


class _NotLists(Exception):
    """A piece is not a packed-able nest of list-offset and numpy arrays."""


def join_list_pieces(pieces: Sequence[tuple[Any, int, int]]) -> Any:
    """One packed layout of entries ``[start, stop)`` of each ``(layout, start, stop)``.

    Every layout is a ``ListOffsetArray`` nest around a ``NumpyArray`` of the same form;
    raises :class:`_NotLists` otherwise.
    """
    node = pieces[0][0]
    if isinstance(node, ak.contents.NumpyArray):
        if any(not isinstance(p, ak.contents.NumpyArray) for p, _, _ in pieces):
            raise _NotLists
        data = np.concatenate([np.asarray(p.data)[a:b] for p, a, b in pieces])
        return ak.contents.NumpyArray(data, parameters=node.parameters)
    if not all(isinstance(p, ak.contents.ListOffsetArray) for p, _, _ in pieces):
        raise _NotLists
    offsets, inner, total = [np.zeros(1, np.int64)], [], 0
    for p, a, b in pieces:
        o = np.asarray(p.offsets)[a : b + 1].astype(np.int64, copy=False)
        offsets.append(o[1:] - (o[0] - total))
        total += int(o[-1] - o[0])
        inner.append((p.content, int(o[0]), int(o[-1])))
    return ak.contents.ListOffsetArray(
        ak.index.Index64(np.concatenate(offsets)),
        join_list_pieces(inner),
        parameters=node.parameters,
    )


class JoinedLists(AsObjects):
    """uproot's interpretation of a nested-vector branch, baskets joined by numpy."""

    def final_array(
        self,
        basket_arrays: dict[int, Any],
        entry_start: int,
        entry_stop: int,
        entry_offsets: Sequence[int],
        library: Any,
        branch: Any,
        options: Any,
    ) -> Any:
        pieces = []
        for k in range(len(entry_offsets) - 1):
            first, last = int(entry_offsets[k]), int(entry_offsets[k + 1])
            lo, hi = max(entry_start, first), min(entry_stop, last)
            if lo < hi:
                pieces.append((basket_arrays[k], lo - first, hi - first))
        if isinstance(library, Awkward) and pieces:
            try:
                layout = join_list_pieces([(ak.to_layout(arr), a, b) for arr, a, b in pieces])
            except (_NotLists, TypeError):
                pass
            else:
                return library.finalize(layout, branch, self, entry_start, entry_stop, options)
        return super().final_array(
            basket_arrays, entry_start, entry_stop, entry_offsets, library, branch, options
        )


def _joined(branch: Any) -> JoinedLists | None:
    if not isinstance(branch, TBranch):  # an RNTuple field
        return None
    interp = branch.interpretation
    if type(interp) is AsObjects and getattr(interp.model, "typename", None) in _NESTED:
        return JoinedLists(interp.model, branch)
    return None


def read_branches(tree: Any, names: Sequence[str], **kwargs: Any) -> dict[str, ak.Array]:
    """``tree.arrays(names, library="ak", **kwargs)`` as a dict, the nested vectors of a TTree
    through :class:`JoinedLists`. ``kwargs``: ``entry_start`` and ``entry_stop`` at most."""
    joined = {name: _joined(tree[name]) for name in names}
    rest = [name for name in names if joined[name] is None]
    out: dict[str, ak.Array] = {}
    if rest:
        arrays = tree.arrays(rest, library="ak", **kwargs)
        out.update({name: arrays[name] for name in rest})
    for name, interp in joined.items():
        if interp is not None:
            out[name] = tree[name].array(interp, library="ak", **kwargs)
    return {name: out[name] for name in names}

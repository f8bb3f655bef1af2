"""Known AwkwardForth readers for the MLTree's nested vectors, registered with uproot.

uproot reads a ``std::vector<std::vector<T>>`` (clusters x cells) or
``std::vector<std::vector<std::vector<T>>>`` (clusters x cells x truth contributors)
branch with an AwkwardForth program that it discovers per branch object, by first
deserialising entries in Python until it has seen every level filled. On a dense
dijet event that discovery costs ~0.4 s per triple-nested branch, and it is paid again for
every file opened (the program lives on the branch's interpretation): 1.3 s of each
``EventTree`` read of a small JZ2 file, against 0.05 s for the reading itself.

The programs are known in advance, so we hand them to uproot through its table of known
programs (``uproot.interpretation.known_forth.KNOWN_FORTH_DICT``, where uproot keeps its
own ATLAS ``ElementLink`` readers). They assume what ROOT writes for such a branch: the
outer vector with its 6-byte header (byte count and version), the inner ones without;
``tests/test_mltree_reader.py`` checks them against uproot's own discovery.

An uproot without that table (older than the floor of ``pyproject.toml``) reads as before,
only slower.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NESTED_PRIMITIVES", "NestedVectorForth", "register_known_forth"]

#: C++ element type -> (awkward primitive, AwkwardForth big-endian read word)
NESTED_PRIMITIVES = {
    "float": ("float32", "f"),
    "double": ("float64", "d"),
    "int32_t": ("int32", "i"),
    "uint32_t": ("uint32", "I"),
    "int64_t": ("int64", "q"),
    "uint64_t": ("uint64", "Q"),
}


class NestedVectorForth:
    """The Forth program and awkward form of ``std::vector`` nested ``depth`` (2 or 3)
    times around a primitive; constructed by uproot from the type name."""

    def __init__(self, typename: str) -> None:
        self.typename = typename
        self.depth = typename.count("std::vector<")
        inner = typename.replace("std::vector<", "").rstrip(">")
        self.primitive, self._word = NESTED_PRIMITIVES[inner]

    @property
    def forth_code(self) -> str:
        d = self.depth
        outputs = [f"output node{k}-offsets int64" for k in range(1, d + 1)]
        outputs.append(f"output node{d + 1}-data {self.primitive}")
        init = [f"0 node{k}-offsets <- stack" for k in range(1, d + 1)]
        # per entry: seek, skip the outer header, then at each level a big-endian count,
        # appended to that level's offsets; the innermost count reads that many values
        body = ["byteoffsets I-> stack", "stream seek", "6 stream skip"]
        for k in range(1, d + 1):
            body += ["stream !I-> stack", f"dup node{k}-offsets +<- stack"]
            if k < d:
                body.append("0 do")
        body.append(f"stream #!{self._word}-> node{d + 1}-data")
        body += ["loop"] * (d - 1)
        lines = ["input stream", "input byteoffsets", "input bytestops", *outputs, *init,
                 "0 do", *body, "loop"]  # fmt: skip
        return "\n".join(lines) + "\n"

    @property
    def awkward_form(self) -> dict[str, Any]:
        form: dict[str, Any] = {"class": "NumpyArray", "primitive": self.primitive,
                                "form_key": f"node{self.depth + 1}"}  # fmt: skip
        for k in range(self.depth, 0, -1):
            form = {"class": "ListOffsetArray", "offsets": "i64", "form_key": f"node{k}",
                    "content": form}  # fmt: skip
        return form


def nested_typenames() -> list[str]:
    """Every type name the table gains: depth 2 and 3 around each primitive."""
    return [("std::vector<" * d) + inner + (">" * d)
            for d in (2, 3) for inner in NESTED_PRIMITIVES]  # fmt: skip


def register_known_forth() -> bool:
    """Add the nested-vector programs to uproot's table; False where uproot has none."""
    try:
        from uproot.interpretation import known_forth
    except ImportError:
        return False
    table = getattr(known_forth, "KNOWN_FORTH_DICT", None)
    if not isinstance(table, dict):
        return False
    for name in nested_typenames():
        table.setdefault(name, NestedVectorForth)
    return True

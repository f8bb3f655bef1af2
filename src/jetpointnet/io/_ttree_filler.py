"""The C++ half of the TTree writer: fills nested-vector branches from flat numpy buffers.

uproot cannot write ``vector<vector<T>>`` TTree branches, and filling ``std::vector`` objects
element by element from Python is far too slow, so the branches are filled here, in C++
declared once per process through cling (``ROOT.gInterpreter.Declare``). Python hands over
each column as addresses: its flat leaf values and, per nesting level, an ``int64`` offsets
array (awkward's ListOffsetArray convention); the entry loop runs entirely in C++ and the
buffers are never copied on the Python side.

ROOT has compiled dictionaries for ``vector<T>`` but not for nested vectors; without one,
``TTree::Branch`` refuses the branch. The declared code therefore gives each nested vector
type a compiled collection proxy (``TClass::SetCollectionProxy``) before its first branch.

ROOT is optional: :func:`import_root` turns its absence into a :class:`UserError` with the
install hint. Nothing here imports ROOT at module import time, so a process that forks
before writing does not carry an initialised interpreter into its children; processes
started with the "spawn" context each pay ROOT's start-up once: import (~1 s), declare
(~0.2 s) and the JIT of each (type, depth) of column at its first use (~1.5-3 s in all for
an MLTree file, measured on 2 cores).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Protocol

import numpy as np

from jetpointnet.errors import missing_extra

__all__ = [
    "CPP_TYPES",
    "NESTED_BASKET_BYTES",
    "TreeColumns",
    "declare_filler",
    "import_root",
    "write_ttrees",
]

#: numpy dtype -> (C++ element type in vectors, C++ type of a one-value-per-entry leaf).
#: int64 scalars are Long64_t (leaf type "/L"); vectors use long and unsigned long, as
#: MLTree's ``std::vector<std::vector<unsigned long>>`` cell IDs do (LP64 platforms).
CPP_TYPES: dict[np.dtype, tuple[str, str]] = {
    np.dtype(np.bool_): ("bool", "bool"),
    np.dtype(np.int16): ("short", "short"),
    np.dtype(np.uint16): ("unsigned short", "unsigned short"),
    np.dtype(np.int32): ("int", "int"),
    np.dtype(np.uint32): ("unsigned int", "unsigned int"),
    np.dtype(np.int64): ("long", "Long64_t"),
    np.dtype(np.uint64): ("unsigned long", "ULong64_t"),
    np.dtype(np.float32): ("float", "float"),
    np.dtype(np.float64): ("double", "double"),
}

#: Basket size (bytes) of the ``vector<vector<T>>`` and ``vector<vector<vector<T>>>``
#: branches. A dijet event fills ~50-100 kB of each cell branch, so ROOT's 32 kB baskets
#: hold one event each and a reader pays uproot's per-basket cost (the basket's header in
#: Python, the awkward arrays of its output) once per event per branch: 1 MB baskets read
#: 600 JZ3 events in 1.5-1.8 s instead of 2.1-2.4 s, files 0.7 % smaller (BENCHMARKS.md).
#: The other branches keep ROOT's 32 kB (one buffer per branch while writing).
NESTED_BASKET_BYTES = 1 << 20

_CPP = r"""
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wundefined-inline"
#include <TClass.h>
#include <TCollectionProxyInfo.h>
#include <TFile.h>
#include <TTree.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace jetpointnet_mltree {

using Offsets = const std::int64_t*;

// Nested<T, D>::type is T for D = 0, else a std::vector nested D times around T.
template <typename T, int D> struct Nested { using type = std::vector<typename Nested<T, D - 1>::type>; };
template <typename T> struct Nested<T, 0> { using type = T; };

// ROOT ships dictionaries for vector<T> but not for vector<vector<T>>...: TTree::Branch
// refuses a collection without a compiled proxy, so give each nested type one (inner
// levels first), once per type and process.
template <typename T, int D> struct Proxy {
  static void ensure() {
    Proxy<T, D - 1>::ensure();
    using C = typename Nested<T, D>::type;
    static const bool done = [] {
      TClass* cl = TClass::GetClass(typeid(C));
      if (cl && !cl->IsLoaded()) {
        std::unique_ptr<ROOT::Detail::TCollectionProxyInfo> info(
            ROOT::Detail::TCollectionProxyInfo::Generate(ROOT::Detail::TCollectionProxyInfo::Pushback<C>()));
        cl->SetCollectionProxy(*info);
      }
      return true;
    }();
    (void)done;
  }
};
template <typename T> struct Proxy<T, 1> { static void ensure() {} };

// Slice<T, D>::put(out, data, offs, b, e): make `out` hold items [b, e) of a level whose
// items are depth D-1 objects; offs[0] are the offsets of the level below, and so on.
template <typename T, int D> struct Slice {
  static void put(typename Nested<T, D>::type& out, const T* data, const Offsets* offs,
                  std::int64_t b, std::int64_t e) {
    out.resize(e - b);
    for (std::int64_t k = b; k < e; ++k)
      Slice<T, D - 1>::put(out[k - b], data, offs + 1, offs[0][k], offs[0][k + 1]);
  }
};
template <typename T> struct Slice<T, 1> {
  static void put(std::vector<T>& out, const T* data, const Offsets*, std::int64_t b, std::int64_t e) {
    out.assign(data + b, data + e);
  }
};

struct Column {
  virtual ~Column() = default;
  virtual void load(std::int64_t entry) = 0;
};

template <typename S> struct ScalarColumn final : Column {
  S value{};
  const S* data;
  ScalarColumn(TTree& tree, const char* name, const void* d) : data(static_cast<const S*>(d)) {
    if (!tree.Branch(name, &value)) throw std::runtime_error(std::string("cannot create branch ") + name);
  }
  void load(std::int64_t i) override { value = data[i]; }
};

template <typename T, int D> struct VectorColumn final : Column {
  using V = typename Nested<T, D>::type;
  V value;
  V* address = &value;
  const T* data;
  std::vector<Offsets> offs;
  VectorColumn(TTree& tree, const char* name, const void* d, std::vector<Offsets> o, int bufsize)
      : data(static_cast<const T*>(d)), offs(std::move(o)) {
    Proxy<T, D>::ensure();
    if (!tree.Branch(name, &address, bufsize)) throw std::runtime_error(std::string("cannot create branch ") + name);
  }
  void load(std::int64_t i) override { Slice<T, D>::put(value, data, offs.data() + 1, offs[0][i], offs[0][i + 1]); }
};

class FileWriter {
 public:
  FileWriter(const char* path, int compression, int nested_basket)
      : file_(TFile::Open(path, "RECREATE", "", compression)), nested_basket_(nested_basket) {
    if (!file_ || file_->IsZombie()) throw std::runtime_error("ROOT cannot create the file");
  }

  // basket size (bytes) of the branches of nested vectors; the others keep ROOT's 32000
  int basket_size(int depth) const { return depth >= 2 ? nested_basket_ : 32000; }

  void add_tree(const char* name, const char* title) {
    columns_.clear();
    tree_ = new TTree(name, title);  // owned by the file
    tree_->SetDirectory(file_.get());
  }

  TTree& tree() {
    if (!tree_) throw std::logic_error("no current tree");
    return *tree_;
  }

  void adopt(Column* column) { columns_.emplace_back(column); }

  // Fill `entries` entries of the current tree from its columns, then write it.
  void fill_tree(std::int64_t entries) {
    TTree& t = tree();
    for (std::int64_t i = 0; i < entries; ++i) {
      for (auto& c : columns_) c->load(i);
      if (t.Fill() < 0) throw std::runtime_error("TTree::Fill failed (disk full?)");
    }
    t.Write();
    columns_.clear();
    tree_ = nullptr;
  }

  void close() {
    if (file_->TestBit(TFile::kWriteError)) throw std::runtime_error("ROOT write error (disk full?)");
    file_->Close();
  }

 private:
  std::unique_ptr<TFile> file_;
  int nested_basket_;
  TTree* tree_ = nullptr;
  std::vector<std::unique_ptr<Column>> columns_;
};

// A branch of depth D (0: one S per entry, else vector^D<T>) read from `data` and the D
// offsets arrays; instantiated from Python only for the (T, S, D) actually written.
template <typename T, typename S, int D>
void add_column(FileWriter& w, const char* name, std::uintptr_t data, std::uintptr_t off0,
                std::uintptr_t off1, std::uintptr_t off2) {
  const void* d = reinterpret_cast<const void*>(data);
  if constexpr (D == 0) {
    w.adopt(new ScalarColumn<S>(w.tree(), name, d));
  } else {
    const std::uintptr_t all[3] = {off0, off1, off2};
    std::vector<Offsets> offs;
    for (int k = 0; k < D; ++k) offs.push_back(reinterpret_cast<Offsets>(all[k]));
    w.adopt(new VectorColumn<T, D>(w.tree(), name, d, std::move(offs), w.basket_size(D)));
  }
}

}  // namespace jetpointnet_mltree
#pragma clang diagnostic pop
"""

_declare_seconds: float | None = None


def import_root() -> ModuleType:
    """Import PyROOT quietly (batch mode, no alpha-stage warning) or raise :class:`UserError`."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore",
                message=r"\s*This distribution of ROOT is in alpha stage",
                category=UserWarning,
            )
            import ROOT
    except ImportError as err:
        raise missing_extra(
            "writing TTrees needs ROOT", "root", reason=str(err), also="(or use --format rntuple)"
        ) from None
    ROOT.gROOT.SetBatch(True)
    return ROOT


def declare_filler() -> float:
    """Declare the C++ filler once per process; seconds it took (0.0 when already done).

    Each (type, depth) of column is compiled on its first use (~0.1-0.4 s each), so the
    first file a process writes costs a few seconds more than the next ones.
    """
    global _declare_seconds
    if _declare_seconds is not None:
        return 0.0
    root = import_root()
    start = time.perf_counter()
    if not root.gInterpreter.Declare(_CPP):
        raise RuntimeError("cling rejected the jetpointnet TTree filler (see the errors above)")
    _declare_seconds = time.perf_counter() - start
    return _declare_seconds


class _Column(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def depth(self) -> int: ...
    @property
    def data(self) -> np.ndarray: ...
    @property
    def offsets(self) -> tuple[np.ndarray, ...]: ...


#: one tree to write: (name, title, number of entries, columns).
TreeColumns = tuple[str, str, int, Sequence[_Column]]


def write_ttrees(
    path: Path,
    trees: Sequence[TreeColumns],
    *,
    compression: int,
    nested_basket_bytes: int = NESTED_BASKET_BYTES,
) -> None:
    """Write ``trees`` into a new ROOT file at ``path`` (replaced if it exists).

    Each column's ``data`` is a flat C-contiguous array of a dtype in :data:`CPP_TYPES`
    and ``offsets`` holds ``depth`` (at most 3) int64 arrays, the first of length
    entries + 1, each indexing the next level (the last indexes ``data``).
    ``compression`` is ROOT's code, algorithm * 100 + level; ``nested_basket_bytes`` the
    basket size of the columns of depth 2 and 3 (:data:`NESTED_BASKET_BYTES`).
    """
    declare_filler()
    import ROOT

    ns = ROOT.jetpointnet_mltree
    writer = None
    try:
        writer = ns.FileWriter(str(path), compression, nested_basket_bytes)
        for name, title, entries, columns in trees:
            writer.add_tree(name, title)
            for col in columns:
                element, scalar = CPP_TYPES[col.data.dtype]
                addr = [off.ctypes.data for off in col.offsets] + [0] * (3 - col.depth)
                add = ns.add_column[element, scalar, col.depth]
                add(writer, col.name, col.data.ctypes.data, *addr)
            writer.fill_tree(entries)
        writer.close()
    except ROOT.std.exception as err:  # cppyy's message: the C++ signature, then the error
        raise OSError(f"{path}: {str(err).strip().splitlines()[-1].strip()}") from None
    finally:
        del writer  # closes the file now, not whenever a traceback lets go of it

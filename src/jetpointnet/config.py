"""Typed, closed configuration: YAML files validated into dataclasses.

Every stage describes its options as a (possibly nested) frozen-free dataclass. A
configuration is built from the dataclass defaults, then a YAML file, then dotted
command-line overrides (``--set train.lr=1e-3``), in that order. Unknown keys are errors
that name the nearest valid key; values are converted to the annotated types (``int``,
``float``, ``bool``, ``str``, ``Path``, ``Literal[...]``, ``Enum``, ``list[...]``,
``tuple[...]``, ``X | None`` and nested dataclasses) or rejected with the key named.

Example::

    @dataclass
    class Optim:
        lr: float = 1e-3
        schedule: Literal["cosine", "step", "none"] = "cosine"

    cfg = load_config(Optim, "configs/train/small.yaml", ["lr=3e-4"])
    save_config(cfg, run_dir / "config.yaml")
"""

from __future__ import annotations

import dataclasses
import enum
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from jetpointnet.errors import UserError, did_you_mean

__all__ = [
    "apply_overrides",
    "from_dict",
    "load_config",
    "read_yaml",
    "save_config",
    "to_dict",
]

T = TypeVar("T")


def load_config(
    cls: type[T],
    path: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
) -> T:
    """Build ``cls`` from its defaults, the YAML file ``path`` and ``key=value`` overrides."""
    raw: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        raw = read_yaml(path)
    raw = apply_overrides(raw, overrides)
    return from_dict(cls, raw, where=where)


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML mapping from ``path`` (safe loader); anything else is a one-line UserError."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: config file not found")
    try:
        loaded = yaml.safe_load(p.read_text())
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file (a YAML config was expected)") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" (line {line + 1})" if line is not None else ""
        raise UserError(f"{path}: not valid YAML{at}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: a config file must be a mapping of keys to values")
    return loaded


def apply_overrides(raw: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted ``key=value`` overrides applied (values in YAML)."""
    out: dict[str, Any] = _deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. train.lr=1e-3")
        key, _, text = item.partition("=")
        key = key.strip()
        if not key:
            raise UserError(f"--set {item!r}: empty key")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def from_dict(
    cls: type[T], raw: Mapping[str, Any], *, where: str = "config", prefix: str = ""
) -> T:
    """Validate a mapping into the dataclass ``cls``; unknown keys and bad values are errors."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(raw, Mapping):
        raise UserError(f"{where}: '{prefix.rstrip('.') or '<root>'}' must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in raw:
        if key not in fields:
            raise UserError(
                f"{where}: unknown key '{prefix}{key}'"
                + did_you_mean(f"{prefix}{key}", [prefix + k for k in fields])
            )
    kwargs: dict[str, Any] = {}
    for name, value in raw.items():
        kwargs[name] = _convert(hints[name], value, where=where, key=prefix + name)
    return cls(**kwargs)


def to_dict(cfg: Any) -> Any:
    """A plain YAML-safe structure (dicts, lists, scalars) from a config object."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, enum.Enum):
        return cfg.value
    if isinstance(cfg, Path):
        return str(cfg)
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {str(k): to_dict(v) for k, v in cfg.items()}
    return cfg


def save_config(cfg: Any, path: str | os.PathLike[str]) -> None:
    """Write the resolved config as YAML (atomically)."""
    from jetpointnet.io.atomic import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))


# --------------------------------------------------------------------------- helpers


def _deepcopy(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deepcopy(v) if isinstance(v, Mapping) else v for k, v in raw.items()}


def _convert(tp: Any, value: Any, *, where: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    def bad(expected: str) -> UserError:
        return UserError(f"{where}: '{key}' must be {expected}, got {value!r}")

    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where=where, key=key)
            except UserError as exc:
                errors.append(exc)
        raise errors[0] if errors else bad("set")
    if origin is typing.Literal:
        if value in args:
            return value
        allowed = ", ".join(repr(a) for a in args)
        raise UserError(f"{where}: '{key}' must be one of {allowed}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return from_dict(tp, value if value is not None else {}, where=where, prefix=key + ".")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in tp)
            raise UserError(f"{where}: '{key}' must be one of {allowed}, got {value!r}") from None
    if origin in (list, tuple) or tp in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise bad("a list")
        items = list(value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise bad(f"a list of {len(args)} values")
            return tuple(
                _convert(a, v, where=where, key=f"{key}[{i}]")
                for i, (a, v) in enumerate(zip(args, items, strict=True))
            )
        inner = args[0] if args else Any
        conv = [_convert(inner, v, where=where, key=f"{key}[{i}]") for i, v in enumerate(items)]
        return tuple(conv) if (origin is tuple or tp is tuple) else conv
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise bad("a mapping")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _convert(vt, v, where=where, key=f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if tp is int:
        if isinstance(value, bool):
            raise bad("an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad("an integer")
    if tp is float:
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad("a number") from None
        raise bad("a number")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad("a string")
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise bad("a path")
    return value

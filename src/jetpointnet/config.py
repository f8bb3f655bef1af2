"""Typed, closed configuration: YAML files validated into dataclasses.

Every stage describes its options as a (possibly nested) plain stdlib dataclass. A
configuration is built from the dataclass defaults, then a YAML file, then dotted
command-line overrides (``--set train.lr=1e-3``), in that order. pydantic (v2,
``TypeAdapter`` over the dataclass, extra keys forbidden) converts values to the annotated
types (``int``, ``float``, ``bool``, ``str``, ``Path``, ``Literal[...]``, ``Enum``,
``list[...]``, ``tuple[...]``, ``X | None``, nested dataclasses); its first error becomes
one line naming the file, the dotted key and, for unknown keys and closed choices, the
closest valid names. Checks beyond types live in the dataclasses' ``__post_init__``,
which raise :class:`ConfigValueError` (key and problem).

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
import functools
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import yaml

from jetpointnet.errors import UserError, did_you_mean

__all__ = [
    "ConfigError",
    "ConfigValueError",
    "apply_overrides",
    "check_choices",
    "from_dict",
    "load_config",
    "read_yaml",
    "save_config",
    "to_dict",
]

T = TypeVar("T")


class ConfigError(UserError, ValueError):
    """The one-line error of :func:`from_dict`: ``where`` (a file) and ``text`` (key, problem)."""

    def __init__(self, where: str, text: str) -> None:
        self.where, self.text = where, text
        super().__init__(f"{where}: {text}")


class ConfigValueError(UserError, ValueError):
    """A well-typed but meaningless value, raised by a config type's ``__post_init__``.

    ``key`` is the field's name in its dataclass; :func:`from_dict` puts the file and the
    dotted path in front, so the user reads ``FILE: 'data.batch_size' must be >= 1``.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem
        #: the problem as it follows the quoted key (a problem may start with ``:``)
        self.joined = problem if problem.startswith(":") else f" {problem}"
        super().__init__(f"'{key}'{self.joined}")


def check_choices(cfg: Any) -> None:
    """Check every ``Literal`` field of the dataclass ``cfg`` (and ``list[Literal]`` items).

    Call it from ``__post_init__``: a config built in Python (a CLI's flags) is then held
    to the same closed choices as one read by :func:`from_dict`.
    """
    for name, tp in typing.get_type_hints(type(cfg)).items():
        value = getattr(cfg, name)
        if typing.get_origin(tp) is list and typing.get_origin(typing.get_args(tp)[0]) is Literal:
            allowed, values = typing.get_args(typing.get_args(tp)[0]), list(value)
        elif typing.get_origin(tp) is Literal:
            allowed, values = typing.get_args(tp), [value]
        else:
            continue
        for v in values:
            if v not in allowed:
                text = ", ".join(repr(a) for a in allowed)
                hint = did_you_mean(str(v), [str(a) for a in allowed])
                raise ConfigValueError(name, f"must be one of {text}, got {v!r}{hint}")


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
    """Validate a mapping into the dataclass ``cls``; unknown keys and bad values are errors.

    The first problem is a one-line :class:`UserError` naming ``where``, the dotted key
    (after ``prefix``) and, for unknown keys and closed choices, the closest valid names.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"'{prefix.rstrip('.') or '<root>'}' must be a mapping")
    from pydantic import ValidationError

    _refuse_lax(cls, raw, where=where, key=prefix.rstrip("."))
    try:
        return _adapter(cls).validate_python(raw)
    except ValidationError as exc:
        raise ConfigError(where, _message(cls, exc.errors()[0], prefix=prefix)) from None


def _refuse_lax(cls: Any, raw: Any, *, where: str, key: str) -> None:
    """Refuse what pydantic's lax mode would coerce but a config must not: a bool field
    given anything but true/false, an int or float field given true/false, an int field
    given a string (float fields keep taking ``"1e-3"``, which YAML reads as a string)."""
    if not (dataclasses.is_dataclass(cls) and isinstance(raw, Mapping)):
        return
    hints = typing.get_type_hints(cls)
    for name, value in raw.items():
        tp, full = hints.get(name), f"{key}.{name}" if key else str(name)
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
            tp = args[0]
        bad = (
            "true or false" if tp is bool and not isinstance(value, bool | None)
            else "an integer" if tp is int and isinstance(value, bool | str)
            else "a number" if tp is float and isinstance(value, bool)
            else None
        )  # fmt: skip
        if bad:
            raise ConfigError(where, f"'{full}' must be {bad}, got {value!r}")
        if typing.get_origin(tp) is list and isinstance(value, list):
            for i, item in enumerate(value):
                _refuse_lax(typing.get_args(tp)[0], item, where=where, key=f"{full}[{i}]")
        else:
            _refuse_lax(tp, value, where=where, key=full)


@functools.cache
def _adapter(cls: type) -> Any:
    """A pydantic ``TypeAdapter`` of ``cls`` with every nested dataclass closed (built once)."""
    from pydantic import ConfigDict, TypeAdapter

    closed = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    for tp in _dataclasses(cls, set()):
        if "__pydantic_config__" not in vars(tp):
            tp.__pydantic_config__ = closed  # type: ignore[attr-defined]
    return TypeAdapter(cls)


def _dataclasses(tp: Any, seen: set[type]) -> set[type]:
    """``tp`` and every dataclass reachable through its annotations."""
    for arg in typing.get_args(tp):
        _dataclasses(arg, seen)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type) and tp not in seen:
        seen.add(tp)
        for hint in typing.get_type_hints(tp).values():
            _dataclasses(hint, seen)
    return seen


def _walk(cls: type, loc: tuple[Any, ...]) -> tuple[str, Any]:
    """The dotted key of a pydantic error location and the type found there (None: none).

    ``X | None`` is looked through; a part that names no field or item (a union member's
    tag) is skipped.
    """
    key, tp = "", cast(Any, cls)
    for part in loc:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            tp, args = args[0], list(typing.get_args(args[0]))
        origin = typing.get_origin(tp)
        if isinstance(part, int) and origin in (list, tuple):
            key += f"[{part}]"
            tp = args[0] if origin is list or args[-1] is Ellipsis else args[part]
        elif isinstance(part, str) and dataclasses.is_dataclass(tp):
            key, tp = (f"{key}.{part}" if key else part), typing.get_type_hints(tp).get(part)
        elif isinstance(part, str) and origin is dict:
            key, tp = f"{key}.{part}", args[-1]
    return key, tp


_EXPECTED = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "string": "a string",
    "list": "a list",
    "tuple": "a list",
    "iterable": "a list",
    "dict": "a mapping",
    "dataclass": "a mapping",
    "path": "a path",
}


def _message(cls: type, err: Mapping[str, Any], *, prefix: str) -> str:
    """The line (after ``FILE: ``) for pydantic's error ``err`` (``type``, ``loc``, ``input``)."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    key, _ = _walk(cls, tuple(err["loc"]))
    full = prefix + key
    if kind == "unexpected_keyword_argument":
        parent = key.rpartition(".")[0]
        _, owner = _walk(cls, tuple(err["loc"][:-1]))
        names = [
            prefix + (f"{parent}." if parent else "") + k for k in typing.get_type_hints(owner)
        ]
        return f"unknown key '{full}'" + did_you_mean(full, names)
    if kind == "missing_argument":
        return f"missing key '{full}'"
    if kind in ("literal_error", "enum"):
        _, tp = _walk(cls, tuple(err["loc"]))
        allowed = _choices(tp)
        text = ", ".join(repr(a) for a in allowed)
        hint = did_you_mean(str(value), [str(a) for a in allowed])
        return f"'{full}' must be one of {text}, got {value!r}{hint}"
    if kind == "value_error" and isinstance(ctx.get("error"), ConfigError):
        return ctx["error"].text  # a nested from_dict (e.g. model options): its own keys
    if kind == "value_error" and isinstance(ctx.get("error"), ConfigValueError):
        inner: ConfigValueError = ctx["error"]
        return f"'{f'{full}.' if key else prefix}{inner.key}'{inner.joined}"
    if kind == "too_long" or (kind == "missing" and isinstance(err["loc"][-1], int)):
        key, tp = _walk(cls, tuple(err["loc"][:-1] if kind == "missing" else err["loc"]))
        n = len(typing.get_args(tp))
        return f"'{prefix}{key}' must be a list of {n} values, got {value!r}"
    head = kind.split("_")[0]
    if head in _EXPECTED:
        return f"'{full}' must be {_EXPECTED[head]}, got {value!r}"
    return f"'{full}': {err['msg']}, got {value!r}"


def _choices(tp: Any) -> list[Any]:
    """The allowed values of a ``Literal`` or ``Enum`` type (inside ``X | None`` too)."""
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [m.value for m in tp]
    if typing.get_origin(tp) is typing.Literal:
        return list(typing.get_args(tp))
    return [c for a in typing.get_args(tp) for c in _choices(a)]


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

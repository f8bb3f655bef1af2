"""The ``jetpointnet`` command: one entry point, one module per sub-command.

Each sub-command module under ``jetpointnet.cli`` defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. ``run`` parses nothing itself: it
builds a config, calls one library function and returns an exit code. Heavy imports
(ROOT, torch, Pythia) happen inside ``run`` so that ``jetpointnet --help`` is instant.

Known user mistakes (:class:`jetpointnet.errors.UserError`, a missing file, a refused
overwrite) and the user's environment (a full disk, a read-only or missing folder, a
damaged file: :mod:`jetpointnet.cli.errors`) become one line on stderr and exit code 2;
our own bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from jetpointnet import __version__

__all__ = ["main"]

# Sub-command name -> module under jetpointnet.cli. Order is the order in --help.
COMMANDS: dict[str, str] = {
    "simulate": "simulate",
    "preprocess": "preprocess",
    "train": "train",
    "tune": "tune",
    "evaluate": "evaluate",
    "pflow-templates": "pflow_templates",
    "pflow": "pflow",
    "compare": "compare",
    "display": "display",
    "predict": "predict",
    "export": "export",
    "jets": "jets",
    "demo": "demo",
}


def _available() -> dict[str, object]:
    mods: dict[str, object] = {}
    for name, module in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"jetpointnet.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"jetpointnet.cli.{module}":
                continue  # sub-command not built yet
            raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jetpointnet",
        description="Machine-learned particle flow: simulate -> preprocess -> train -> evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"jetpointnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in _available().items():
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)  # type: ignore[attr-defined]
        mod.add_arguments(p)  # type: ignore[attr-defined]
        p.set_defaults(_run=mod.run)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from jetpointnet.cli.errors import ENVIRONMENT_ERRORS, describe
    from jetpointnet.errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"jetpointnet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:  # ours carry a message; the OS's only errno and path
        msg = str(exc) if exc.errno is None else describe(exc)
        print(f"jetpointnet {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except ENVIRONMENT_ERRORS as exc:
        print(f"jetpointnet {args.command}: error: {describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"jetpointnet {args.command}: interrupted (re-run to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

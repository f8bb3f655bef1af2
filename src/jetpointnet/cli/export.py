"""``jetpointnet export``: a trained run's model to ONNX (dynamic batch and point axes)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "export"
HELP = "export a trained run's model to ONNX"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder of `train`")
    parser.add_argument("--onnx", required=True, type=Path, help="output FILE.onnx")
    parser.add_argument("--checkpoint", default="best", help="best, last or a .pt file")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset version")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.predict.export import export_onnx

    path = export_onnx(
        args.run, args.onnx, checkpoint=args.checkpoint, opset=args.opset, overwrite=args.overwrite
    )
    if not args.quiet:
        print(f"{path}: exported")
    return 0

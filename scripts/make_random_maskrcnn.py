"""Write a random-initialised torchvision Mask R-CNN as TorchScript, for benchmarks.

No COCO weights can be downloaded where the benchmarks run, so the speed rows in the README
come from this model (export/random_model.py: well-formed boxes and smooth masks, not noise).
Its speed is a trained model's speed; its answers mean nothing.

    python scripts/make_random_maskrcnn.py OUT.pt [--architecture maskrcnn_resnet50_fpn_v2]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch

from export.random_model import random_maskrcnn
from export.torchvision_setup import load_torchvision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--architecture", default="maskrcnn_resnet50_fpn")
    args = parser.parse_args()
    load_torchvision()
    warnings.filterwarnings("ignore")
    model = random_maskrcnn(args.architecture)
    torch.jit.script(model).save(str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

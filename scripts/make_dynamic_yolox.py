"""Make the bundled YOLOX-Nano size-agnostic: dynamic batch, height and width.

The original export (models/SOURCES.md) fixes the input at 1×3×416×416 and reshapes each head
to `[1, 85, -1]`; everything else in the graph follows the input's size. This relaxes those
dims and the three Reshape constants to `[0, 85, -1]` (0: keep the batch) and drops the
stale shape annotations. Weights and every other node are untouched.

    python scripts/make_dynamic_yolox.py ORIGINAL.onnx models/yolox_nano.onnx
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ORIGINAL_SHA256 = "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14"
FIXED_RESHAPE = [1, 85, -1]


def make_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    initializers = {init.name: init for init in model.graph.initializer}
    relaxed = 0
    for node in model.graph.node:
        shape = initializers.get(node.input[1]) if node.op_type == "Reshape" else None
        if shape is not None and numpy_helper.to_array(shape).tolist() == FIXED_RESHAPE:
            shape.CopyFrom(numpy_helper.from_array(np.array([0, 85, -1], np.int64), shape.name))
            relaxed += 1
    if relaxed != 3:
        raise SystemExit(f"expected 3 Reshape constants {FIXED_RESHAPE}, found {relaxed}")
    for value, names in (
        (model.graph.input[0], ("batch", None, "height", "width")),
        (model.graph.output[0], ("batch", "points", None)),
    ):
        for dim, name in zip(value.type.tensor_type.shape.dim, names, strict=True):
            if name is not None:
                dim.Clear()
                dim.dim_param = name
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("original", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    data = args.original.read_bytes()
    if hashlib.sha256(data).hexdigest() != ORIGINAL_SHA256:
        raise SystemExit(f"{args.original} is not the original YOLOX-Nano (sha256 differs)")
    model = make_dynamic(onnx.load_from_string(data))
    args.out.write_bytes(model.SerializeToString())
    print(f"{args.out}: sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()

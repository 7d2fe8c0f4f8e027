"""Build models/yolox_nano_int8.onnx, the zoo's `yolox-nano-int8`: static int8 of the bundled
YOLOX-Nano (QDQ, per-channel Conv weights, uint8 activations, Percentile calibration), made
from the CC BY 2.0 home photos of tests/data/homes (the CC BY-SA ones are left out), each at
640 px and mirrored.
Its card is models/yolox_nano_int8.toml (the fp32 card with this file's sha256).

Run from the repository root with the export extra installed (onnx, onnxruntime):
    python scripts/make_int8_detector.py [--method MinMax|Percentile|Entropy] [--sizes 416,640]
        [--int8-silu]

Measured 2026-12-02 (box AP on tests/data/homes at 640 px; fp32 0.389): Percentile
calibration with the heads' last convolutions and the stem's first four in float, AP 0.394;
MinMax with only the heads in float, 0.089 (the objectness collapsed: 0.99 → 0.02 on the same
box); Percentile with only the heads in float, 0.239; per-tensor weights 0.266.
Not bundled: on this project's 2-core AMD EPYC (Zen 5, AVX-512 VNNI) it is no faster than fp32.
With each SiLU fused into one QuickGelu (`fuse_silu`), ONNX Runtime runs it at 1.00× fp32's
speed at 416 and at 640 px (30 paired rounds; before the fusion 0.61-0.77×): the int8
convolutions take 4.1 ms of a 640 px frame against fp32's 11.2, but the dequantize, SiLU and
quantize around each of them give the difference back (ONNX Runtime has no int8 SiLU).
With `--int8-silu` the SiLUs are quantized too (ONNX Runtime's QLinearSigmoid
and QLinearMul): AP 0.410, but 0.76× fp32's speed at 416 px and 0.92× at 640 (its table-lookup
sigmoid alone takes 3.1 ms of a 640 px frame). A first try at that gave AP 0.004: a convolution
kept in float between a DequantizeLinear and a QuantizeLinear has its weights quantized per
tensor by ONNX Runtime itself when the session loads (its WeightBiasQuantization), which a
depthwise convolution does not survive, so the SiLUs on either side of a float convolution stay
float (`float_neighbours`). Also tried: quantizing Concat, MaxPool, Resize and Add as well, AP
0.377 and 0.96-0.97×; OpenVINO on an NNCF-quantized copy (its Q/DQ placement, SiLUs fused as
post-ops), 0.73-0.82× ONNX Runtime fp32, as OpenVINO fp32 itself runs at 0.64× ONNX Runtime
here. An Intel CPU with AMX, or one with AVX2 only, may differ; not measured.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnx.version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from edge.inference.adapters import YoloxAdapter
from edge.inference.modelcard import load_card_file

REPO = Path(__file__).resolve().parents[1]
HOMES = REPO / "tests" / "data" / "homes"
FP32 = REPO / "models" / "yolox_nano.onnx"
TARGET = REPO / "models" / "yolox_nano_int8.onnx"
CARD = REPO / "models" / "yolox_nano_int8.toml"
SIZES = (640,)  # the photo size; Percentile's histograms need one input shape


def cc_by_photos() -> list[Path]:
    """The home photos whose SOURCES.md row says CC BY 2.0 (not CC BY-SA)."""
    rows = (HOMES / "SOURCES.md").read_text(encoding="utf-8").splitlines()
    names = [re.match(r"\| (\S+\.jpg) \|", row) for row in rows if "| CC BY 2.0:" in row]
    return [HOMES / match.group(1) for match in names if match]


def calibration_inputs(sizes: tuple[int, ...]) -> list[np.ndarray]:
    card = load_card_file(FP32, None)
    assert card is not None
    tensors = []
    for path in cc_by_photos():
        image = cv2.imread(str(path))
        for size in sizes:
            adapter = YoloxAdapter(card, size)
            for frame in (image, cv2.flip(image, 1)):
                tensors.append(adapter.prepare(frame).inputs[adapter.input_name].copy())
    return tensors


FLOAT_FIRST_CONVS = 4  # the stem's first convolutions: quantized, they cost the most AP


def float_convs(model: Path) -> list[str]:
    """The convolutions kept in float: the detection heads' last ones (their outputs are the
    scores and box offsets themselves) and the first few of the backbone (a search that kept
    each run of 12 convolutions in float in turn found only the first run to matter: AP 0.41
    against 0.19–0.26; of those, the first 4 are enough)."""
    graph = onnx.load(str(model), load_external_data=False).graph
    convs = [node.name for node in graph.node if node.op_type == "Conv"]
    consumers: dict[str, list[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node.op_type)
    heads = [
        node.name
        for node in graph.node
        if node.op_type == "Conv" and consumers.get(node.output[0]) in (["Sigmoid"], ["Concat"])
    ]
    return sorted(set(heads + convs[:FLOAT_FIRST_CONVS]))


def fuse_silu(model: onnx.ModelProto) -> int:
    """Each SiLU (x · sigmoid(x), a Sigmoid and a Mul) becomes one ONNX Runtime QuickGelu
    (alpha 1: the same function). Quantized, the Sigmoid and the Mul each got their own
    DequantizeLinear of x, which keeps ONNX Runtime from fusing them: 210 dequantizations and
    two passes a SiLU instead of 110 and one. The graph then needs ONNX Runtime (QuickGelu is
    in its com.microsoft domain); the fp32 model keeps the standard ops."""
    graph = model.graph
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    sigmoids: set[int] = set()
    fused: dict[int, onnx.NodeProto] = {}
    for node in graph.node:
        users = consumers.get(node.output[0], []) if node.op_type == "Sigmoid" else []
        if len(users) != 1 or users[0].op_type != "Mul":
            continue
        mul = users[0]
        if sorted(mul.input) != sorted([node.input[0], node.output[0]]):
            continue
        sigmoids.add(id(node))
        fused[id(mul)] = onnx.helper.make_node(
            "QuickGelu",
            [node.input[0]],
            [mul.output[0]],
            name=f"{mul.name}_silu",
            domain="com.microsoft",
            alpha=1.0,
        )
    nodes = [fused.get(id(node), node) for node in graph.node if id(node) not in sigmoids]
    del graph.node[:]
    graph.node.extend(nodes)
    if not any(entry.domain == "com.microsoft" for entry in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    return len(fused)


def float_neighbours(model: onnx.ModelProto, float_conv_names: set[str]) -> set[str]:
    """The Sigmoids and Muls of the SiLUs just before and just after each float convolution:
    quantized, they would leave the convolution between a DequantizeLinear and a
    QuantizeLinear, where ONNX Runtime quantizes its weights per tensor on its own."""
    graph = model.graph
    producer = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    neighbours: set[str] = set()
    for conv in (node for node in graph.node if node.name in float_conv_names):
        for user in consumers.get(conv.output[0], []):
            if user.op_type in ("Sigmoid", "Mul"):
                neighbours.add(user.name)
                neighbours.update(
                    after.name
                    for after in consumers.get(user.output[0], [])
                    if after.op_type == "Mul"
                )
        before = producer.get(conv.input[0])
        if before is not None and before.op_type == "Mul":
            neighbours.add(before.name)
            neighbours.update(
                producer[name].name
                for name in before.input
                if name in producer and producer[name].op_type == "Sigmoid"
            )
    return neighbours


class Calibration(CalibrationDataReader):
    def __init__(self, tensors: list[np.ndarray]) -> None:
        self._tensors = iter(tensors)

    def get_next(self) -> dict[str, np.ndarray] | None:
        tensor = next(self._tensors, None)
        return None if tensor is None else {"images": tensor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--method", default="Percentile", choices=["MinMax", "Percentile", "Entropy"]
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument(
        "--int8-silu",
        action="store_true",
        help="quantize the SiLUs too (QLinearSigmoid, QLinearMul), not one float QuickGelu",
    )
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(","))
    photos = cc_by_photos()
    print(f"calibrating on {len(photos)} CC BY photos: {', '.join(p.name for p in photos)}")
    with tempfile.TemporaryDirectory() as folder:
        folded, quantized = Path(folder) / "folded.onnx", Path(folder) / "int8.onnx"
        opset13 = Path(folder) / "opset13.onnx"  # per-channel DequantizeLinear needs opset 13
        converted = onnx.version_converter.convert_version(onnx.load(str(FP32)), 13)
        excluded = set(float_convs(FP32))
        if args.int8_silu:
            excluded |= float_neighbours(converted, excluded)
        else:
            print(f"fused {fuse_silu(converted)} SiLUs into QuickGelu")
        onnx.save(converted, str(opset13))
        quant_pre_process(str(opset13), str(folded), skip_symbolic_shape=True)
        quantize_static(
            str(folded),
            str(quantized),
            Calibration(calibration_inputs(sizes)),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv", "Sigmoid", "Mul"] if args.int8_silu else ["Conv"],
            calibrate_method=getattr(CalibrationMethod, args.method),
            nodes_to_exclude=sorted(excluded),
        )
        proto = onnx.load(str(quantized))
        fp32 = onnx.load(str(FP32), load_external_data=False)
        del proto.metadata_props[:]
        proto.metadata_props.extend(fp32.metadata_props)
        for entry in proto.metadata_props:
            if entry.key == "officescore.precision":
                entry.value = "int8"
        if not any(entry.key == "officescore.precision" for entry in proto.metadata_props):
            proto.metadata_props.add(key="officescore.precision", value="int8")
        onnx.save(proto, str(Path(folder) / "out.onnx"))
        shutil.move(str(Path(folder) / "out.onnx"), TARGET)
    digest = hashlib.sha256(TARGET.read_bytes()).hexdigest()
    card = (REPO / "models" / "yolox_nano.toml").read_text(encoding="utf-8")
    card = re.sub(r'^sha256 = ".*"$', f'sha256 = "{digest}"', card, count=1, flags=re.M)
    card = card.replace('name = "yolox-nano-coco"', 'name = "yolox-nano-int8-coco"', 1)
    CARD.write_text(card, encoding="utf-8")
    print(f"wrote {TARGET.name} ({TARGET.stat().st_size:,} bytes, sha256 {digest}) and {CARD.name}")


if __name__ == "__main__":
    main()

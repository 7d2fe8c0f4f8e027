"""Rebuild the bundled person models as ONNX from the MediaPipe wheel, and prove them equal.

The wheel (`pip download --no-deps mediapipe==0.10.21`, Apache-2.0) holds MediaPipe's trained
TFLite models; four are used: the short-range face detector (BlazeFace), the 468-point face
landmark model and the two selfie segmenters. Each `.tflite` file's sha256 is checked, converted
with tf2onnx, and, for the segmenters, MediaPipe's custom op `Convolution2DTransposeBias` (a 2×2
stride-2 SAME transposed convolution plus a bias, left in place by tf2onnx) is replaced by
Transpose → ConvTranspose → Transpose. Then every ONNX model runs on real images against the
TFLite interpreter (the segmenters, whose custom op that interpreter lacks, against MediaPipe's
own graph when `--mediapipe-python` names a Python with mediapipe installed), and the inputs
and reference outputs are written for the test suite, which checks the bundled files without
TensorFlow.

It runs in a converter environment of its own, never the project's (TensorFlow, tf2onnx and
mediapipe stay out of officescore's runtime):

    python3 -m venv .venv-convert
    .venv-convert/bin/pip install 'tensorflow-cpu==2.21.*' 'tf2onnx==1.17.*' onnxruntime pillow
    pip download --no-deps mediapipe==0.10.21 -d build/
    .venv-convert/bin/python scripts/make_person_models.py build/mediapipe-0.10.21-*.whl \
        --images PORTRAIT.jpg tests/data/photos/cctv_office_train283.jpg \
        [--mediapipe-python /path/to/venv-with-mediapipe/bin/python]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
# ONNX Runtime against the reference, absolute and relative to large values: the TFLite
# interpreter runs the same tensors; MediaPipe's graph resamples the image and the mask itself.
TOLERANCE = {"tflite": 1e-4, "mediapipe": 1e-3}


@dataclass(frozen=True)
class Source:
    member: str  # path inside the wheel
    size: int
    sha256: str
    value_range: tuple[float, float]  # the RGB input, scaled to this range


SOURCES = {
    "face_detection_short_range": Source(
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        229_714,
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        (-1.0, 1.0),
    ),
    "face_landmark": Source(
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        1_242_398,
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        (0.0, 1.0),
    ),
    "selfie_segmentation": Source(
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        249_505,
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        (0.0, 1.0),
    ),
    "selfie_segmentation_landscape": Source(
        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        250_145,
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        (0.0, 1.0),
    ),
}
CUSTOM_OP = "TFL_Convolution2DTransposeBias"


def extract(wheel: Path, folder: Path) -> dict[str, Path]:
    """The four .tflite files, each checked for size and sha256."""
    found = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, source in SOURCES.items():
            data = archive.read(source.member)
            digest = hashlib.sha256(data).hexdigest()
            if len(data) != source.size or digest != source.sha256:
                raise SystemExit(f"{source.member}: {len(data)} bytes, sha256 {digest}: not ours")
            path = folder / f"{name}.tflite"
            path.write_bytes(data)
            found[name] = path
    return found


def repair_transpose_conv(model: onnx.ModelProto) -> int:
    """Replace MediaPipe's NHWC transposed-convolution-plus-bias by ONNX ops; how many."""
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    repaired = 0
    for node in list(graph.node):
        if node.op_type != CUSTOM_OP:
            continue
        data, weight_name, bias_name = node.input
        weight = numpy_helper.to_array(initializers[weight_name])  # OHWI, TFLite's layout
        if weight.shape[1:3] != (2, 2):
            raise SystemExit(f"{node.name}: expected a 2×2 kernel, got {weight.shape}")
        onnx_weight = np.ascontiguousarray(weight.transpose(3, 0, 1, 2))  # IOHW, ONNX's
        new_weight = f"{node.name}_weight_iohw"
        graph.initializer.append(numpy_helper.from_array(onnx_weight, new_weight))
        to_nchw, to_nhwc = f"{node.name}_nchw", f"{node.name}_deconv"
        replacement = [
            helper.make_node("Transpose", [data], [to_nchw], perm=[0, 3, 1, 2]),
            helper.make_node(
                "ConvTranspose",
                [to_nchw, new_weight, bias_name],
                [to_nhwc],
                kernel_shape=[2, 2],
                strides=[2, 2],
                pads=[0, 0, 0, 0],  # SAME with a 2×2 kernel at stride 2 pads nothing
            ),
            helper.make_node("Transpose", [to_nhwc], list(node.output), perm=[0, 2, 3, 1]),
        ]
        position = list(graph.node).index(node)
        graph.node.remove(node)
        graph.initializer.remove(initializers[weight_name])
        for offset, new in enumerate(replacement):
            graph.node.insert(position + offset, new)
        repaired += 1
    still_there = [n.op_type for n in graph.node if n.op_type.startswith("TFL_")]
    if still_there:
        raise SystemExit(f"custom ops left after the repair: {still_there}")
    return repaired


def convert(tflite: Path, out: Path) -> None:
    import tf2onnx

    model, _ = tf2onnx.convert.from_tflite(str(tflite), opset=17)
    repaired = repair_transpose_conv(model)
    model.producer_name, model.producer_version = "officescore make_person_models", "1"
    del model.metadata_props[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    print(f"{out.name}: converted, {repaired} custom op(s) repaired")


def input_shape(onnx_path: Path) -> tuple[int, int]:
    model = onnx.load(str(onnx_path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return dims[1].dim_value, dims[2].dim_value


def square_face_crop(image: np.ndarray) -> np.ndarray:
    """The face models are used on a box around a face; for the reference, the upper middle."""
    height, width = image.shape[:2]
    side = min(height, width) // 2
    top, left = height // 8, (width - side) // 2
    return image[top : top + side, left : left + side]


def resized_inputs(images: list[Path], size: tuple[int, int], face: bool) -> np.ndarray:
    from PIL import Image

    batch = []
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        if face:
            rgb = square_face_crop(rgb)
        resized = Image.fromarray(rgb).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        batch.append(np.asarray(resized, np.uint8))
    return np.stack(batch)


def normalized(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    low, high = value_range
    return (pixels.astype(np.float32) / 255.0 * (high - low) + low).astype(np.float32)


def tflite_outputs(tflite: Path, tensor: np.ndarray) -> list[np.ndarray]:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    details = sorted(interpreter.get_output_details(), key=lambda d: d["index"])
    return [interpreter.get_tensor(d["index"]) for d in details]


_MEDIAPIPE_SEGMENT = """
import json, sys
import numpy as np
import mediapipe as mp
pixels = np.load(sys.argv[1])
landscape = sys.argv[2] == "landscape"
masks = []
with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=int(landscape)) as seg:
    for image in pixels:
        masks.append(seg.process(image).segmentation_mask.astype(np.float32))
np.save(sys.argv[3], np.stack(masks)[..., None])
"""


def mediapipe_masks(python: str, pixels: np.ndarray, landscape: bool) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        source, result = Path(folder) / "in.npy", Path(folder) / "out.npy"
        np.save(source, pixels)
        mode = "landscape" if landscape else "general"
        subprocess.run(
            [python, "-c", _MEDIAPIPE_SEGMENT, str(source), mode, str(result)], check=True
        )
        return np.load(result)


def onnx_outputs(onnx_path: Path, tensor: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = [session.run(None, {name: tensor[i : i + 1]}) for i in range(len(tensor))]
    return [np.concatenate([out[k] for out in outputs]) for k in range(len(outputs[0]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "models")
    parser.add_argument("--images", type=Path, nargs="+", required=True)
    parser.add_argument(
        "--reference", type=Path, default=REPO / "tests" / "data" / "person_reference.npz"
    )
    parser.add_argument("--mediapipe-python", help="a Python with mediapipe, for the segmenters")
    args = parser.parse_args()
    arrays: dict[str, np.ndarray] = {}
    report = {}
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, tflite in extract(args.wheel, Path(folder)).items():
            out = args.out / f"{name}.onnx"
            convert(tflite, out)
            size = input_shape(out)
            pixels = resized_inputs(args.images, size, face=name.startswith("face"))
            tensor = normalized(pixels, SOURCES[name].value_range)
            ours = onnx_outputs(out, tensor)
            if name.startswith("selfie"):
                if not args.mediapipe_python:
                    raise SystemExit("the segmenters need --mediapipe-python to be proven")
                theirs = [mediapipe_masks(args.mediapipe_python, pixels, "landscape" in name)]
                against = "mediapipe"
            else:
                theirs = [
                    np.concatenate(
                        [tflite_outputs(tflite, tensor[i : i + 1])[k] for i in range(len(tensor))]
                    )
                    for k in range(len(ours))
                ]
                theirs = _match_order(ours, theirs)
                against = "tflite"
            worst = max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs, strict=True))
            mean = float(np.mean([np.abs(a - b).mean() for a, b in zip(ours, theirs, strict=True)]))
            report[name] = {"against": against, "max_abs_difference": worst, "mean": mean}
            print(f"{name}: ONNX Runtime vs {against}: largest {worst:.2e}, mean {mean:.1e}")
            close = all(
                np.allclose(a, b, rtol=TOLERANCE[against], atol=TOLERANCE[against])
                for a, b in zip(ours, theirs, strict=True)
            )
            if not close:
                raise SystemExit(f"{name}: differs from {against} by {worst}")
            arrays[f"{name}/pixels"] = pixels
            for index, output in enumerate(theirs):
                arrays[f"{name}/output{index}"] = output.astype(np.float32)
    np.savez_compressed(args.reference, **arrays)
    print(json.dumps(report, indent=1))


def _match_order(ours: list[np.ndarray], theirs: list[np.ndarray]) -> list[np.ndarray]:
    """TFLite lists outputs by tensor index, ONNX by graph order: pair them by shape."""
    remaining = list(range(len(theirs)))
    ordered = []
    for output in ours:
        match = next(i for i in remaining if theirs[i].shape == output.shape)
        remaining.remove(match)
        ordered.append(theirs[match])
    return ordered


if __name__ == "__main__":
    main()

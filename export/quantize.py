"""Opt-in static int8 of an exported Mask R-CNN: QDQ, per-channel Conv weights, calibrated
on the parity images. On CPUs with VNNI or AMX it runs about twice as fast as fp32; what it
costs in accuracy depends on the weights, so it is written beside the fp32 model, never
instead of it, and its parity report is shown but does not gate the export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from edge.core.errors import OfficeScoreError, first_line
from export.onnx_export import INPUT_NAME
from export.parity import model_input
from export.variants import relabel, save_atomically, scratch_beside


def quantize_int8(
    fp32_path: Path, target: Path, images: dict[str, np.ndarray], size: tuple[int, int] | None
) -> None:
    """Write the int8 model to `target` atomically, with the fp32 model's metadata relabelled."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    tensors = [model_input(image, size) for image in images.values()]

    class Calibration(CalibrationDataReader):
        def __init__(self) -> None:
            self._inputs = iter(tensors)

        def get_next(self) -> dict[str, np.ndarray] | None:
            tensor = next(self._inputs, None)
            return None if tensor is None else {INPUT_NAME: tensor}

    with scratch_beside(target, "int8") as scratch:
        folded = scratch / "folded.onnx"
        quantized = scratch / "int8.onnx"
        try:
            # ORT's basic fusions fold torchvision's frozen batch norms (Mul, Add) into the
            # convolutions first; without that most Convs stay float between Q/DQ pairs.
            quant_pre_process(str(fp32_path), str(folded), skip_symbolic_shape=True)
            quantize_static(
                str(folded),
                str(quantized),
                Calibration(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["Conv"],
                calibrate_method=CalibrationMethod.MinMax,
            )
        except Exception as error:  # the quantizer raises assorted types on graphs it can't take
            raise OfficeScoreError(f"--int8: quantization failed: {first_line(error)}") from None
        proto = onnx.load(str(quantized))
        details = {"format": "QDQ", "per_channel": True, "ops": ["Conv"]}
        fp32 = onnx.load(str(fp32_path), load_external_data=False)
        relabel(proto, fp32, "int8", {**details, "calibration": list(images)})
        save_atomically(proto, target, scratch)

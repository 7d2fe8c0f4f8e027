"""A Triton Python-backend model, copied as `<name>/1/model.py` by `officescore export triton
--python-backend` and `officescore serve`: it runs the `model.onnx` beside it with ONNX
Runtime, for Triton servers without the native ONNX Runtime backend (PyTriton's bundled
server, which `serve` runs, has none).

It runs inside Triton's Python stub, not in officescore: it may import only numpy,
onnxruntime and Triton's `triton_python_backend_utils`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        options = ort.SessionOptions()
        threads = config.get("parameters", {}).get("intra_op_thread_count", {})
        if threads.get("string_value"):
            options.intra_op_num_threads = int(threads["string_value"])
        providers: list[Any] = ["CPUExecutionProvider"]
        if args.get("model_instance_kind") == "GPU":
            device = {"device_id": int(args["model_instance_device_id"])}
            providers.insert(0, ("CUDAExecutionProvider", device))
        model = Path(__file__).with_name("model.onnx")
        self.session = ort.InferenceSession(str(model), options, providers=providers)
        self.inputs = [value.name for value in self.session.get_inputs()]
        self.outputs = [value.name for value in self.session.get_outputs()]
        self.batched = config.get("max_batch_size", 0) > 0

    def execute(self, requests: list[Any]) -> list[Any]:
        feeds = [
            [pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.inputs]
            for request in requests
        ]
        return [
            pb_utils.InferenceResponse(
                output_tensors=[
                    pb_utils.Tensor(name, np.ascontiguousarray(array))
                    for name, array in zip(self.outputs, arrays, strict=True)
                ]
            )
            for arrays in self._run(feeds)
        ]

    def _run(self, feeds: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """One ONNX Runtime call for the batch Triton formed, when the requests' frames have
        one shape; else one call per request."""
        shapes = {tuple(array.shape[1:] for array in feed) for feed in feeds}
        if not self.batched or len(feeds) == 1 or len(shapes) > 1:
            return [
                self.session.run(self.outputs, dict(zip(self.inputs, feed, strict=True)))
                for feed in feeds
            ]
        joined = {
            name: np.concatenate([feed[index] for feed in feeds])
            for index, name in enumerate(self.inputs)
        }
        results = self.session.run(self.outputs, joined)
        bounds = np.cumsum([feed[0].shape[0] for feed in feeds])[:-1]
        split = [np.split(result, bounds) for result in results]
        return [[parts[index] for parts in split] for index in range(len(feeds))]

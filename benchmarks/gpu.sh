#!/usr/bin/env bash
# The GPU benchmark (issue #15), from the repository root on a machine with an NVIDIA GPU:
#   Mask R-CNN R50-FPN (random weights: no COCO weights offline), 480x640 resized to 800 in
#   the graph, on ONNX Runtime CUDA fp32 and fp16 (parity against fp32 in the table), with
#   TorchScript on CUDA as the baseline; TensorRT rows where its libraries load; YOLOX-Nano
#   on CUDA at the live and photo sizes.
# Needs torch + torchvision with CUDA, onnxruntime-gpu, and officescore's own dependencies.
#   bash benchmarks/gpu.sh [OUTPUT_FOLDER]      (default: gpu-bench)
# Each step logs to OUTPUT_FOLDER/*.log and writes JSON; a failing step does not stop the rest.
set -uo pipefail
out=${1:-gpu-bench}
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# onnxruntime-gpu finds cuBLAS/cuDNN by soname: point it at the nvidia-* wheels torch uses
nvidia_libs=$("$python" - <<'PY'
import pathlib, sys
for root in map(pathlib.Path, sys.path):
    if (root / "nvidia").is_dir():
        print(":".join(sorted({str(p.parent) for p in (root / "nvidia").rglob("lib*.so*")})))
        break
PY
)
export OFFICESCORE_CACHE="$out/cache"  # TensorRT keeps its engines in OFFICESCORE_CACHE/tensorrt
export LD_LIBRARY_PATH="${nvidia_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
photo=tests/data/homes/000000255165.jpg
iterations=${ITERATIONS:-50}
device=${DEVICE:-cuda}  # DEVICE=cpu tries the script on a machine without a GPU
status=0

step() {  # step NAME COMMAND...: run, log, remember a failure, go on
    local name=$1; shift
    echo "== $name: $*"
    if "$@" >"$out/$name.json" 2>"$out/$name.log"; then
        tail -n 3 "$out/$name.log"
    else
        echo "!! $name failed (exit $?):"; tail -n 5 "$out/$name.log"; status=1
    fi
}

{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    "$python" -c "import onnxruntime as o, torch; print('onnxruntime', o.__version__, o.get_available_providers()); print('torch', torch.__version__, torch.cuda.is_available())"
} 2>&1 | tee "$out/environment.txt"

step make-model "$python" scripts/make_random_maskrcnn.py "$out/maskrcnn.pt"
step export "$python" -m officescore export maskrcnn --from "$out/maskrcnn.pt" \
    --out "$out/maskrcnn.onnx" --fp16 --force
step maskrcnn-"$device" "$python" -m officescore bench --device "$device" --strict \
    --torchscript "$out/maskrcnn.pt" --model "$out/maskrcnn.onnx" \
    --model "$out/maskrcnn.fp16.onnx" --photo "$photo" --iterations "$iterations" --json
step yolox-"$device" "$python" -m officescore bench --device "$device" --strict --imgsz 416 --imgsz 640 \
    --photo "$photo" --iterations "$((iterations * 4))" --json
if ldconfig -p | grep -q libnvinfer.so; then
    step maskrcnn-tensorrt "$python" -m officescore bench --device tensorrt --strict \
        --model "$out/maskrcnn.onnx" --photo "$photo" \
        --iterations "$iterations" --json
else
    echo "== TensorRT: libnvinfer is not installed here; no TensorRT rows" | tee -a "$out/environment.txt"
fi
exit $status

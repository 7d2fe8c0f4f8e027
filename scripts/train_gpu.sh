#!/usr/bin/env bash
# `officescore train` on a machine with an NVIDIA GPU (issue #33), from the repository root:
#   1. YOLOX-Nano on office-cctv at 416 px (the CPU's 30-minute run, for a time to compare);
#   2. Mask R-CNN from a TorchScript file (yours; else the random test model, which shows the
#      loop and the export work but learns little) on desk-lamp, exported with the parity gate.
# Needs `pip install -e '.[train,export,eval]'` with a CUDA build of torch.
#   bash scripts/train_gpu.sh [DATA_ROOT] [OUTPUT_FOLDER] [MASKRCNN.pt]
#   (defaults: ../shared/datasets, gpu-train, a random Mask R-CNN made by scripts/make_random_maskrcnn.py)
# Each step logs to OUTPUT_FOLDER/*.log; a failing step does not stop the rest.
set -uo pipefail
data=${1:-../shared/datasets}
out=${2:-gpu-train}
source_model=${3:-}
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export OFFICESCORE_CACHE="$out/cache"
epochs=${EPOCHS:-50}
status=0

step() {  # step NAME COMMAND...: run, log, remember a failure, go on
    local name=$1; shift
    echo "== $name: $*"
    local started=$SECONDS
    if "$@" >"$out/$name.log" 2>&1; then
        tail -n 9 "$out/$name.log"
    else
        echo "!! $name failed (exit $?):"; tail -n 5 "$out/$name.log"; status=1
    fi
    echo "== $name took $((SECONDS - started)) s"
}

{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    "$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee "$out/environment.txt"

step yolox-office-cctv "$python" -m officescore train "$data/office-cctv" --device cuda \
    --epochs "$epochs" --imgsz 416 --batch 16 --lr 2e-3 --runs "$out/runs" --name office-cctv
if [ -z "$source_model" ]; then
    source_model="$out/maskrcnn-random.pt"
    step make-maskrcnn "$python" scripts/make_random_maskrcnn.py "$source_model"
fi
step maskrcnn-desk-lamp "$python" -m officescore train "$data/desk-lamp" --device cuda \
    --model maskrcnn --from "$source_model" --epochs "${MASK_EPOCHS:-20}" --batch 4 --lr 0.01 \
    --val-fraction 0.5 --runs "$out/runs" --name desk-lamp-maskrcnn
exit $status

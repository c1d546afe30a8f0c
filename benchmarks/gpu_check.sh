#!/usr/bin/env bash
# The GPU checks of the course, stage by stage, on a machine with an NVIDIA GPU (issue: the GPU path).
# Usage: benchmarks/gpu_check.sh OUT_DIR STAGE...   stages: env step tests cli resume torchrun epoch notebooks
# Each stage writes OUT_DIR/<stage>.log and prints PASS/FAIL; the script goes on past a failed stage.
# Run from the repository root with pp_vae's dependencies importable (python3 -m pp_vae.cli must work). A bare
# GPU image with PyTorch lacks the packages in benchmarks/gpu_requirements.txt: fetch their wheels where the
# registries are reachable (pip download --no-deps --only-binary=:all: --python-version 3.12 -r that file -d .whl)
# and install them there (pip install --no-index --no-deps --target /tmp/site .whl/*.whl; PYTHONPATH=/tmp/site).
set -u
out=$1
shift
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the notebooks' kernels start in notebooks/
work=$(mktemp -d)

stage_env() {
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    command -v g++ || echo "no C++ compiler: Stan programs cannot be built here"
    $py -c 'import torch, pyro; print("torch", torch.__version__, "pyro", pyro.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'
}

stage_step() { $py benchmarks/gpu_step.py; }

stage_tests() {
    # the gpu-marked tests, and the VAE tests with CUDA present (device "auto" now means CUDA)
    $py -m pytest -q -s -p no:cacheprovider -m gpu tests/vae && $py -m pytest -q -p no:cacheprovider -n 8 tests/vae -x
}

train() {  # train NAME OPTIONS...: 3 epochs on the default data (the embedded MNIST digits, binarised), on CUDA unless told otherwise
    local name=$1
    shift
    $py -m pp_vae.cli train --epochs 3 --iwae-samples 50 --device ${DEVICE:-cuda} --quiet --out "$work/$name" "$@" >"$work/$name.log" 2>&1 \
        && echo "ok   $name $(tr -d '\n ' <"$work/$name/metrics.json" | grep -o '"test_elbo":[^,]*')" \
        || { echo "FAIL $name"; tail -5 "$work/$name.log"; return 1; }
}

stage_cli() {
    # every model kind with every likelihood (the Gaussian's three sigmas), every architecture, the beta objective
    export OMP_NUM_THREADS=2
    for model in vae iaf ladder binary; do
        for lik in binomial bernoulli continuous-bernoulli "gaussian --sigma 0.1" "gaussian --sigma learned" "gaussian --sigma optimal"; do
            train "$model-${lik// /}" --model $model --likelihood $lik &
        done
        wait
    done
    train vae-conv --arch conv --hidden-dim 64 &
    train vae-linear --arch linear --likelihood gaussian --sigma learned &
    train iaf-conv --model iaf --arch conv --hidden-dim 64 &
    train vae-beta --beta 4 --anneal-epochs 2 &
    train vae-eager --no-cuda-graph &
    wait
    echo "$(ls "$work"/*/metrics.json | wc -l) of $(ls "$work"/*.log | wc -l) runs wrote their metrics"
    [ "$(ls "$work"/*/metrics.json | wc -l)" = "$(ls "$work"/*.log | wc -l)" ]
}

stage_resume() {
    # a checkpoint written on CUDA resumes on the CPU, and one written on the CPU resumes on CUDA
    train cuda-then-cpu --epochs 2 && train cuda-then-cpu --epochs 4 --device cpu --resume || return 1
    train cpu-then-cuda --epochs 2 --device cpu && train cpu-then-cuda --epochs 4 --resume || return 1
    train straight-cuda --epochs 4 || return 1
    $py - "$work" <<'EOF'
import json, sys
from pathlib import Path
for name in ("cuda-then-cpu", "cpu-then-cuda", "straight-cuda"):
    m = json.loads((Path(sys.argv[1]) / name / "metrics.json").read_text())
    print(name, "epochs", m["epochs"], "test ELBO", [round(v, 3) for v in m["history"]["test_elbo"]] if "history" in m else m["test_elbo"])
EOF
}

stage_torchrun() {
    # NCCL: one process per GPU (a group of one on a one-GPU machine), then the clear error for more processes than GPUs
    $py -m torch.distributed.run --standalone --nnodes 1 --nproc-per-node 1 -m pp_vae.cli train --epochs 3 --device cuda \
        --iwae-samples 20 --quiet --out "$work/nccl" && grep -o '"processes": [0-9]*' "$work/nccl/metrics.json" || return 1
    $py -m torch.distributed.run --standalone --nnodes 1 --nproc-per-node 2 -m pp_vae.cli train --epochs 1 --device cuda \
        --quiet --out "$work/nccl2" 2>&1 | grep -m2 "GPU\|Error" || true
}

stage_epoch() { $py benchmarks/vae_epoch.py --cuda-only && tail -n 20 benchmarks/RESULTS.md; }

stage_notebooks() {
    # every lecture top to bottom under nbval, the device "auto" picking CUDA: one pytest each, side by side,
    # each stopped after NB_TIMEOUT seconds (default 900) so that one slow lecture leaves the others' reports;
    # NOTEBOOKS="02 05" runs only the lectures whose names start with those numbers
    local status=0 nbs=()
    for prefix in ${NOTEBOOKS:-""}; do nbs+=(notebooks/"$prefix"*.ipynb); done
    [ ${#nbs[@]} = 0 ] && nbs=(notebooks/*.ipynb)
    for nb in "${nbs[@]}"; do
        OMP_NUM_THREADS=2 timeout "${NB_TIMEOUT:-900}" $py -m pytest -q -p no:cacheprovider --tb=short "$nb" >"$work/$(basename "$nb").log" 2>&1 &
    done
    wait
    for nb in "${nbs[@]}"; do
        log="$work/$(basename "$nb").log"
        echo "== $nb: $(tail -n 1 "$log")"
        grep -q " passed" "$log" && ! grep -q "failed" "$log" || { status=1; grep -E "^(E |FAILED)|Error" "$log" | head -20; }
    done
    return $status
}

for stage in "$@"; do
    start=$(date +%s)
    if "stage_$stage" >"$out/$stage.log" 2>&1; then verdict=PASS; else verdict=FAIL; fi
    echo "$verdict $stage ($(($(date +%s) - start)) s)"
    [ $verdict = FAIL ] && tail -15 "$out/$stage.log"
done
true

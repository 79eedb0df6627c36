#!/usr/bin/env bash
# GPU figures for benchmarks/README.md, on a machine with a CUDA GPU, PyTorch and transformers (no network, no
# datasets or video decoders needed: the inputs are synthetic tensors).
#
#   bash benchmarks/gpu_check.sh [OUTPUT_JSON]     # env: PYTHON (python), BATCH_SIZE (16), REPETITIONS (10)
#
# TAda R50, 16 x 112^2, forward and forward+backward, fp32 / bf16 / fp16 autocast, beside the per-frame 2D floor and
# the original formulation, each also channels-last, plus torch.compile of our model (graph breaks counted);
# clips/s and the peak CUDA memory of one training step per candidate.
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-benchmarks/results/gpu_check.json}"
"${PYTHON:-python}" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check.sh: no CUDA GPU visible to PyTorch.')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"${PYTHON:-python}" benchmarks/model_speed.py --device cuda --dtypes fp32,bf16,fp16 --batch_size "${BATCH_SIZE:-16}" \
  --num_frames 16 --image_size 112 --channels_last --compile --repetitions "${REPETITIONS:-10}" --warmup 3 \
  --output "$output"

#!/usr/bin/env bash
# GPU figures for benchmarks/README.md and the GPU-only exactness checks, on a machine with a CUDA GPU, PyTorch,
# torchvision and transformers (no network, no datasets needed).
#
#   bash benchmarks/gpu_check.sh [RESULTS_DIR]     # env: PYTHON (python), BATCH_SIZE (16), REPETITIONS (5)
#
# 1. gpu_exactness.py: the device-side augmentation and the video processor on the GPU give the CPU path's pixels.
# 2. train_step_speed.py: the real fine-tuning step of TAda R50 (16 x 112^2, batch 32, bf16) fed by 8 and 16 loader
#    processes, augmentation in the loaders or on the device, against the model-only step. It decodes videos, so it
#    needs av: where it is missing, an av wheel put in benchmarks/work/wheels is unpacked and used.
# 3. model_speed.py: TAda R50 forward and forward+backward, fp32 / bf16 autocast, beside the per-frame 2D floor and
#    the original formulation, each also channels-last, plus torch.compile of TAda and of its 2D twin; clips/s and
#    peak memory.
# 4. tada_unit_parts.py: the elementwise parts a TAda unit adds, as the model runs them and as the alternatives would.
# 5. model_speed.py --family tada_convnext_v2: TAdaConvNeXtV2-T the same way, beside a plain ConvNeXt-T frame by frame
#    and the authors' formulation.
# 6. model_speed.py --family tadaformer: TAdaFormer-B/16 (sdpa) beside CLIP ViT-B/16 frame by frame and the authors'
#    formulation, with activation checkpointing too.
set -euo pipefail
cd "$(dirname "$0")/.."
results="${1:-benchmarks/results}"
python="${PYTHON:-python}"
"$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check.sh: no CUDA GPU visible to PyTorch.')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if ! "$python" -c "import av" 2>/dev/null; then
  wheel=$(ls benchmarks/work/wheels/av-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    echo "gpu_check.sh: av is not installed and no av wheel is in benchmarks/work/wheels (pip download av -d there)."
    exit 1
  fi
  "$python" -m zipfile -e "$wheel" /tmp/hf_video_gpu_check_av
  export PYTHONPATH="/tmp/hf_video_gpu_check_av${PYTHONPATH:+:$PYTHONPATH}"
fi
echo "== 1. exactness on the GPU"
"$python" benchmarks/gpu_exactness.py --device cuda
echo "== 2. loaders against the model (train_step_speed.py)"
"$python" benchmarks/train_step_speed.py --device cuda --depth 50 --num_frames 16 --image_size 112 --batch_size 32 \
  --workers 8,16 --modes loader,device --dtype bf16 --steps 20 --warmup 5 --output "$results/train_step_speed_gpu.json"
echo "== 3. the model (model_speed.py)"
"$python" benchmarks/model_speed.py --device cuda --dtypes fp32,bf16 --batch_size "${BATCH_SIZE:-16}" \
  --num_frames 16 --image_size 112 --channels_last --compile --repetitions "${REPETITIONS:-5}" --warmup 3 \
  --output "$results/gpu_check.json"
echo "== 4. the TAda unit's parts (tada_unit_parts.py)"
"$python" benchmarks/tada_unit_parts.py --device cuda --batch_size "${BATCH_SIZE:-16}" --iterations 20 \
  --output "$results/tada_unit_parts_gpu.json"
echo "== 5. TAdaConvNeXtV2-T (model_speed.py --family tada_convnext_v2)"
"$python" benchmarks/model_speed.py --family tada_convnext_v2 --device cuda --dtypes fp32,bf16 \
  --batch_size "${BATCH_SIZE:-16}" --num_frames 16 --image_size 112 --channels_last --compile \
  --repetitions "${REPETITIONS:-5}" --warmup 3 --output "$results/gpu_check_convnext_v2.json"
echo "== 6. TAdaFormer-B/16 (model_speed.py --family tadaformer)"
"$python" benchmarks/model_speed.py --family tadaformer --device cuda --dtypes fp32,bf16 \
  --batch_size "${BATCH_SIZE:-16}" --num_frames 16 --image_size 112 --checkpointing --compile \
  --repetitions "${REPETITIONS:-5}" --warmup 3 --output "$results/gpu_check_tadaformer.json"

"""On a CUDA GPU: the pixels made there equal the CPU path's (the checks the test suite skips without a GPU).

    python benchmarks/gpu_exactness.py [--device cuda]

- `DeviceAugmentation` on the GPU against `augment_clip` on the CPU (same frames and random draws): 1e-5;
- `TadaVideoProcessor(device="cuda")` against the processor on the CPU: 1e-5, one view and 2 x 3 views.
Needs torch and transformers (and torchvision for the processor checks); random frames, no decoder. Exits non-zero
on a mismatch.
"""

import sys
from pathlib import Path

import torch
from transformers.utils import is_torchvision_available

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import argument_parser  # noqa: E402

from tests.helpers.device_augmentation import cpu_clips_and_loader_rows, finished_on, random_videos  # noqa: E402

from hf_video.clips.clip_settings import ClipSettings  # noqa: E402

TOLERANCE = 1e-5


def device_augmentation_difference(device: str) -> float:
    settings = ClipSettings(num_frames=16, image_size=112, mean=(0.4, 0.5, 0.6), std=(0.2, 0.3, 0.25))
    videos = random_videos([(240, 320), (240, 320), (180, 240), (144, 176), (240, 300), (256, 340)], num_frames=16)
    expected, rows = cpu_clips_and_loader_rows(videos, settings)
    return (finished_on(device, rows, settings).cpu() - expected).abs().max().item()


def processor_difference(device: str, **views) -> float:
    from hf_video.clips.video_processing_tada import TadaVideoProcessor  # needs torchvision

    processor = TadaVideoProcessor(num_frames=8, sample_interval=2, **views)
    videos = random_videos([(240, 320), (240, 320)], num_frames=40, seed=1)
    on_cpu = processor(videos)["pixel_values"]
    on_device = processor(videos, device=device)["pixel_values"]
    assert on_device.device.type == torch.device(device).type
    return (on_device.cpu() - on_cpu).abs().max().item()


def main(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    checks = {"DeviceAugmentation vs augment_clip (CPU)": device_augmentation_difference(args.device)}
    if is_torchvision_available():  # transformers' video processors need it
        checks["video processor, 1 view"] = processor_difference(args.device)
        checks["video processor, 2 x 3 views"] = processor_difference(args.device, temporal_crops=2, spatial_crops=3)
    else:
        print("video processor checks skipped: torchvision is not installed here.")
    failed = False
    for name, difference in checks.items():
        holds = difference <= TOLERANCE
        failed |= not holds
        print(f"{name} on {args.device}: max |difference| {difference:.2e} ({'holds' if holds else 'FAILS'} "
              f"<= {TOLERANCE:g})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

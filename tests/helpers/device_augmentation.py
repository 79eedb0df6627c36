"""The device-side augmentation against the CPU path, on random frames: shared by the test and by
`benchmarks/gpu_exactness.py` (which runs it on a GPU machine, where pytest may be missing)."""

import random

import torch

from hf_video.clips.clip_ops import augment_clip, draw_augmentation
from hf_video.clips.collate import collate_clips
from hf_video.clips.device_augmentation import DeviceAugmentation, move_batch


def random_videos(sizes, num_frames: int, seed: int = 0) -> list:
    """uint8 (T, H, W, 3) videos of random pixels, one per (height, width)."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (num_frames, height, width, 3), dtype=torch.uint8, generator=generator)
            for height, width in sizes]


def cpu_clips_and_loader_rows(videos: list, settings, seed: int = 0) -> tuple[torch.Tensor, list]:
    """(the CPU path's clips of `videos`, the loader rows of the device path), from the same random draws."""
    random.seed(seed)
    expected = torch.stack([augment_clip(frames, settings) for frames in videos])
    random.seed(seed)
    rows = []
    for frames in videos:
        (top, left, height, width), flip = draw_augmentation(*frames.shape[1:3], settings)
        rows.append({"crops": frames[:, top:top + height, left:left + width].clone(), "flip": flip, "labels": 0})
    return expected, rows


def finished_on(device: str, rows: list, settings) -> torch.Tensor:
    """The rows collated, moved to `device` and finished there by DeviceAugmentation: `pixel_values`."""
    finished = DeviceAugmentation(settings)(move_batch(collate_clips(rows), device))["pixel_values"]
    assert finished.device.type == torch.device(device).type
    return finished

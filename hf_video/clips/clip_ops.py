"""Pixel operations on one decoded clip: the original recipe's training augmentation and its evaluation crops.

Input: a decoded clip, uint8 (T, H, W, C), as one tensor or as a list of per-frame (H, W, C) arrays (what the
decoders produce: cropping each frame while converting it to float saves stacking the full frames first).
Output: what the model takes per clip, `pixel_values` float32 (T, C, H, W), normalised per channel. One crop box and
one flip decision hold for the whole clip. They know nothing about datasets, decoders or file paths.
"""

import math
import random

import numpy as np
import torch
import torch.nn.functional as F

from .clip_settings import ClipSettings


def frame_size(frames) -> tuple:
    """(height, width) of a uint8 clip given as a (T, H, W, 3) tensor or a list of (H, W, 3) arrays."""
    first = frames[0] if len(frames) else None
    if first is None or first.ndim != 3 or first.shape[-1] != 3 or first.dtype not in (torch.uint8, np.uint8) or \
            any(frame.shape != first.shape for frame in frames):
        shapes = sorted({(str(frame.dtype), tuple(frame.shape)) for frame in frames})
        raise ValueError(f"expected a uint8 clip of shape (T, H, W, 3) or a list of equal (H, W, 3) uint8 frames; "
                         f"got {len(frames)} frame(s) of {shapes}.")
    return first.shape[0], first.shape[1]


def _crop_resize_normalise(frames, top: int, left: int, height: int, width: int,
                           settings: ClipSettings) -> torch.Tensor:
    """Crop every uint8 frame while converting it to float, resize the clip in float as the recipe does (resizing
    uint8 would round every pixel before normalisation), then scale to [0, 1] and normalise per channel. Bilinear
    resizing is linear, so the recipe's division by 255 is applied after it, on the smaller tensor, together with the
    normalisation.
    Returns (T, C, size, size)."""
    if isinstance(frames, torch.Tensor):  # one (T, H, W, C) tensor, possibly on an accelerator: crop it there
        crop = frames[:, top:top + height, left:left + width].to(torch.float32)
    else:
        crop = torch.empty(len(frames), height, width, 3)
        for target, frame in zip(crop, frames):
            target.copy_(torch.as_tensor(frame)[top:top + height, left:left + width])
    # (T, h, w, C) memory seen as (T, C, h, w): interpolation runs channels-last, its fastest layout on CPU.
    resized = F.interpolate(crop.permute(0, 3, 1, 2), size=[settings.image_size] * 2, mode="bilinear",
                            align_corners=False, antialias=settings.antialias)
    # (x / 255 - mean) / std as one multiply and one subtraction (two passes instead of three; the same values to
    # float rounding, about 1e-7).
    scale = [1 / (255 * std) for std in settings.std]
    shift = [mean / std for mean, std in zip(settings.mean, settings.std)]
    if len(set(scale)) == 1 and len(set(shift)) == 1:  # the recipe's statistics: scalar arithmetic, fast in any layout
        return resized.mul_(scale[0]).sub_(shift[0])
    # Per-channel broadcasting is several times faster on contiguous (T, C, H, W) than on channels-last memory.
    scale, shift = (torch.tensor(values, device=resized.device).view(-1, 1, 1) for values in (scale, shift))
    return resized.contiguous().mul_(scale).sub_(shift)


def random_resized_crop_box(height: int, width: int, scale, ratio, rng: random.Random) -> tuple:
    """(top, left, box_height, box_width) of a random crop with area fraction in `scale` and aspect ratio in
    `ratio` (log-uniform), falling back to the largest centred box of an allowed ratio after 10 failed draws."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        box_width = round(math.sqrt(target_area * aspect))
        box_height = round(math.sqrt(target_area / aspect))
        if 0 < box_width <= width and 0 < box_height <= height:
            return rng.randint(0, height - box_height), rng.randint(0, width - box_width), box_height, box_width
    aspect = min(max(width / height, ratio[0]), ratio[1])
    box_width, box_height = (width, round(width / aspect)) if width / height < aspect else (round(height * aspect),
                                                                                           height)
    return (height - box_height) // 2, (width - box_width) // 2, box_height, box_width


def draw_augmentation(height: int, width: int, settings: ClipSettings,
                      rng: random.Random | None = None) -> tuple[tuple, bool]:
    """The random part of the training augmentation: (crop box (top, left, height, width), flip or not)."""
    rng = rng or random
    box = random_resized_crop_box(height, width, settings.crop_scale, settings.crop_ratio, rng)
    return box, rng.random() < settings.flip_probability


def finish_augmentation(frames, box: tuple, flip: bool, settings: ClipSettings) -> torch.Tensor:
    """The float part: crop `box`, resize, normalise, flip. `frames` as for `augment_clip`, or one (T, H, W, C) uint8
    tensor on any device (the device-side augmentation runs this on the training device)."""
    clip = _crop_resize_normalise(frames, *box, settings)
    return clip.flip(-1) if flip else clip  # mirror the width axis (torch alone: the GPU machines may lack torchvision)


def augment_clip(frames, settings: ClipSettings, rng: random.Random | None = None) -> torch.Tensor:
    """The training clip: random resized crop (one box per clip), horizontal flip of the whole clip, per-channel
    normalisation. (T, C, image_size, image_size)."""
    box, flip = draw_augmentation(*frame_size(frames), settings, rng)
    return finish_augmentation(frames, box, flip, settings)


def spatial_crop_boxes(height: int, width: int, settings: ClipSettings) -> list:
    """(top, left, side) of the square evaluation crops: the centre one, or left / centre / right along the long side
    (top / centre / bottom for portrait frames) when `spatial_crops == 3`."""
    side = int(min(height, width) * settings.eval_crop_fraction)
    centre_top, centre_left = (height - side) // 2, (width - side) // 2
    if settings.spatial_crops == 1:
        return [(centre_top, centre_left, side)]
    if width >= height:
        return [(centre_top, left, side) for left in (0, centre_left, width - side)]
    return [(top, centre_left, side) for top in (0, centre_top, height - side)]


def spatial_views(frames, settings: ClipSettings) -> torch.Tensor:
    """Every spatial evaluation view of one decoded clip, in `spatial_crop_boxes` order: float32
    (spatial_crops, T, C, image_size, image_size)."""
    return torch.stack([
        _crop_resize_normalise(frames, top, left, side, side, settings)
        for top, left, side in spatial_crop_boxes(*frame_size(frames), settings)
    ])

"""Frame-index samplers: which frames of a video make a clip.

They reproduce the original recipe's `DecodeVideoToTensor` (EssentialMC2) exactly, including its float32 arithmetic
(`torch.linspace`) and truncation, so that a clip holds the same frames as in the original:

- interval mode: a clip spans `num_frames * sample_interval * video_fps / target_fps` frames of the video; its
  start is uniform in `[0, max(n - span, 0)]` for training, `max_start / 2` for a single evaluation clip and
  `max_start * i / k` for the i-th of k evaluation clips; `num_frames` indices are spread evenly from the start to
  `start + span - 1` (or `start + span - sample_interval` with `minus_interval`), clamped to the video, truncated.
- segment mode (TSN): `[0, n)` is cut into `num_frames` equal segments; training takes a uniform point in each,
  a single evaluation clip the middles, the i-th of k evaluation clips the point `(i + 1) / k` of the way through each;
  clamped to the video, rounded.

Short videos repeat frames by clamping. `clip_index=None` means training (random); an evaluation clip passes its
index. One deliberate difference: the original draws a single-frame clip (`num_frames=1`) at random even in
evaluation; here an evaluation clip is always deterministic (the start of its window).
`clip_indices` applies the sampler that a `ClipSettings` names.
"""

import random

import torch

from .clip_settings import ClipSettings


def sample_interval_indices(
    num_video_frames: int,
    video_fps: float,
    num_frames: int,
    sample_interval: int,
    target_fps: float = 30,
    clip_index: int | None = None,
    num_clips: int = 1,
    minus_interval: bool = False,
    rng: random.Random | None = None,
) -> list[int]:
    """Indices of a clip of `num_frames` frames taken every `sample_interval` frames at `target_fps`."""
    _check_video_and_clip(num_video_frames, num_frames, clip_index, num_clips)
    if not video_fps > 0 or not target_fps > 0:
        raise ValueError(f"video_fps={video_fps!r} and target_fps={target_fps!r} must be positive frame rates.")
    if sample_interval < 1:
        raise ValueError(f"sample_interval={sample_interval!r}: expected a positive integer.")
    rng = rng or random
    if num_frames == 1 and clip_index is None:
        return [rng.randint(0, num_video_frames - 1)]

    span = num_frames * sample_interval * video_fps / target_fps
    max_start = max(num_video_frames - span, 0)
    if clip_index is None:
        start = rng.uniform(0, max_start)
    elif num_clips == 1:
        start = max_start / 2
    else:
        start = max_start * clip_index / num_clips
    end = start + span - (sample_interval if minus_interval else 1)
    positions = torch.linspace(start, end, num_frames)  # float32, as in the original
    return positions.clamp(0, num_video_frames - 1).long().tolist()


def sample_segment_indices(
    num_video_frames: int,
    num_frames: int,
    clip_index: int | None = None,
    num_clips: int = 1,
    rng: random.Random | None = None,
) -> list[int]:
    """Indices of one frame from each of `num_frames` equal segments of the video (TSN sampling)."""
    _check_video_and_clip(num_video_frames, num_frames, clip_index, num_clips)
    rng = rng or random
    bounds = torch.linspace(0, num_video_frames, num_frames + 1)  # float32, as in the original
    positions = torch.empty(num_frames)
    for segment in range(num_frames):
        low, high = bounds[segment], bounds[segment + 1]  # float32 tensors: the evaluation positions keep float32 math
        if clip_index is None:
            positions[segment] = rng.uniform(low.item(), high.item())
        elif num_clips == 1:
            positions[segment] = (low + high) / 2
        else:
            positions[segment] = low + (high - low) * (clip_index + 1) / num_clips
    return positions.clamp(0, num_video_frames - 1).round().long().tolist()


def clip_indices(settings: ClipSettings, num_video_frames: int, video_fps: float, clip_index: int | None = None,
                 num_clips: int = 1) -> list[int]:
    """Frame indices of one clip as `settings` sample it: random for `clip_index=None` (training), else evaluation
    clip `clip_index` of `num_clips`."""
    if settings.sample_mode == "segment":
        return sample_segment_indices(num_video_frames, settings.num_frames, clip_index, num_clips)
    return sample_interval_indices(
        num_video_frames, video_fps, settings.num_frames, settings.sample_interval, settings.target_fps,
        clip_index, num_clips, settings.minus_interval)


def _check_video_and_clip(num_video_frames, num_frames, clip_index, num_clips):
    if num_video_frames < 1:
        raise ValueError(f"num_video_frames={num_video_frames!r}: a video needs at least one decodable frame.")
    if num_frames < 1:
        raise ValueError(f"num_frames={num_frames!r}: expected a positive number of frames per clip.")
    if num_clips < 1:
        raise ValueError(f"num_clips={num_clips!r}: expected a positive number of evaluation clips.")
    if clip_index is not None and not 0 <= clip_index < num_clips:
        raise ValueError(f"clip_index={clip_index!r} must lie in [0, {num_clips - 1}] for num_clips={num_clips}, "
                         f"or be None for a random training clip.")

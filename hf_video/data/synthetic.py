"""A synthetic HMDB51-layout dataset of motion clips that only a temporal model can classify.

Every class has a time-reversed twin: fade_in / fade_out, grow / shrink, turn_clockwise / turn_anticlockwise,
move_right / move_left. A twin's video is a forward video played backwards, drawn from the same random parameters,
so no single frame and no set of frames tells twins apart; only the order of the frames does. A per-frame 2D network
can at best find the pair (50% within it); a temporal one can find the class.

The background is a colour ramp (red grows along x, green along y) with a random offset, so that where an object
is, and how it is turned, shows in a frame's channel statistics: that is what TAda's route functions read (they
calibrate each frame's convolution from its channel averages over space), so a temporal model has something to
follow. A single frame still says nothing about the direction of time.

The layout is HMDB51's (`videos/<class>/<video>.avi`, `annotations/<class>_test_split<k>.txt`), the videos
MPEG-4 AVI at 30 fps like HMDB51's, so the same builder, transforms and training script run on it unchanged.
`synthetic_motion.json` beside them records the class names and how the set was made.
"""

import json
import math
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .video_writing import write_mpeg4_avi, write_video

# Forward motion, then its reversed twin.
MOTION_PAIRS = (("fade_in", "fade_out"), ("grow", "shrink"), ("turn_clockwise", "turn_anticlockwise"),
                ("move_right", "move_left"))
SYNTHETIC_CLASSES = tuple(sorted(name for pair in MOTION_PAIRS for name in pair))
MARKER_FILE = "synthetic_motion.json"


def _render(motion: str, num_frames: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 (T, H, W, 3) of a forward motion with random colours, position and speed."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    background = np.stack([xs / width * 200, ys / height * 200, np.full_like(xs, 40)], axis=-1)
    background = background + rng.uniform(0, 40, size=3)
    colour = rng.uniform(150, 255, size=3)
    centre_x, centre_y = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    progress = np.linspace(0, 1, num_frames)
    frames = np.empty((num_frames, height, width, 3), np.float32)
    short_side = min(width, height)
    if motion == "fade_in":
        radius = rng.uniform(0.2, 0.3) * short_side
        disc = ((xs - centre_x) ** 2 + (ys - centre_y) ** 2 <= radius ** 2)[..., None]
        for t, p in enumerate(progress):
            frames[t] = np.where(disc, background + (colour - background) * p, background)
    elif motion == "grow":
        small, large = rng.uniform(0.05, 0.12) * short_side, rng.uniform(0.3, 0.4) * short_side
        for t, p in enumerate(progress):
            disc = ((xs - centre_x) ** 2 + (ys - centre_y) ** 2 <= (small + (large - small) * p) ** 2)[..., None]
            frames[t] = np.where(disc, colour, background)
    elif motion == "turn_clockwise":
        # A half-disc turning about a pivot near the centre (so crops keep it in view), starting roughly upwards
        # (like a dial): the ramp it covers, and so the frame's colour averages, follow the turn. The twin, played
        # backwards, holds the same frames.
        centre_x, centre_y = rng.uniform(0.45, 0.55) * width, rng.uniform(0.45, 0.55) * height
        start, turn = rng.uniform(-0.75, -0.25) * math.pi, rng.uniform(0.75, 1.25) * math.pi
        radius = rng.uniform(0.4, 0.5) * short_side
        inside = (xs - centre_x) ** 2 + (ys - centre_y) ** 2 <= radius ** 2
        for t, p in enumerate(progress):
            angle = start + turn * p  # image y points down: a growing angle turns clockwise on screen
            facing = (xs - centre_x) * math.cos(angle) + (ys - centre_y) * math.sin(angle) >= 0
            frames[t] = np.where((inside & facing)[..., None], colour, background)
    elif motion == "move_right":
        radius = rng.uniform(0.12, 0.2) * short_side
        start_x = rng.uniform(radius, 0.4 * width)
        end_x = rng.uniform(0.6 * width, width - radius)
        for t, p in enumerate(progress):
            disc = ((xs - (start_x + (end_x - start_x) * p)) ** 2 + (ys - centre_y) ** 2 <= radius ** 2)[..., None]
            frames[t] = np.where(disc, colour, background)
    else:
        raise ValueError(f"unknown motion {motion!r}")
    noise = rng.normal(0, 4, size=frames.shape)  # so that no two frames are pixel-identical
    return np.clip(frames + noise, 0, 255).astype(np.uint8)


def write_synthetic_motion_dataset(root, videos_per_class: int = 60, test_per_class: int = 20,
                                   num_frames_range=(24, 48), width: int = 80, height: int = 64,
                                   seed: int = 0) -> Path:
    """Write the dataset under `root` (created; must not hold one already) and return `root`.

    Per class and split: `videos_per_class - test_per_class` train clips (tag 1) and `test_per_class` test clips
    (tag 2); the three official-format splits draw different test clips. Deterministic for a given `seed`.
    """
    root = Path(root)
    if (root / MARKER_FILE).exists():
        raise FileExistsError(f"{root} already holds a synthetic dataset ({MARKER_FILE}); remove it or pick another "
                              "folder.")
    if not 0 < test_per_class < videos_per_class:
        raise ValueError(f"test_per_class={test_per_class} must lie between 0 and videos_per_class="
                         f"{videos_per_class}, both excluded.")
    rng = np.random.default_rng(seed)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    progress = tqdm(total=len(SYNTHETIC_CLASSES) * videos_per_class, desc="Writing the synthetic motion set",
                    unit=" videos", disable=None)  # None: shown on a terminal only
    for forward, backward in MOTION_PAIRS:
        for index in range(videos_per_class):
            num_frames = int(rng.integers(num_frames_range[0], num_frames_range[1] + 1))
            frames = _render(forward, num_frames, width, height, rng)
            for class_name, clip in ((forward, frames), (backward, frames[::-1])):
                folder = root / "videos" / class_name
                folder.mkdir(parents=True, exist_ok=True)
                write_mpeg4_avi(str(folder / f"{class_name}_{index:03d}.avi"), np.ascontiguousarray(clip))
            progress.update(2)
    progress.close()
    for class_name in SYNTHETIC_CLASSES:
        for split in (1, 2, 3):
            test = set(np.random.default_rng([seed, split]).choice(videos_per_class, test_per_class, replace=False))
            lines = [f"{class_name}_{index:03d}.avi {2 if index in test else 1}\n" for index in range(videos_per_class)]
            (root / "annotations" / f"{class_name}_test_split{split}.txt").write_text("".join(lines))
    # Written last: its presence says the set is complete.
    (root / MARKER_FILE).write_text(json.dumps({
        "class_names": list(SYNTHETIC_CLASSES), "videos_per_class": videos_per_class,
        "test_per_class": test_per_class, "num_frames_range": list(num_frames_range), "width": width,
        "height": height, "fps": 30, "seed": seed}, indent=2) + "\n")
    return root


def write_motion_video(path, motion: str, num_frames: int = 32, width: int = 80, height: int = 64,
                       seed: int = 0, video_format: str = "mpeg4_avi") -> Path:
    """One video of `motion` (one of SYNTHETIC_CLASSES), as the set's videos are drawn: for examples and demos
    (`video_format="vp9_webm"` plays in every browser). A reversed motion with the same `seed` is its twin's video
    played backwards."""
    forward = {backward: forward for forward, backward in MOTION_PAIRS}.get(motion, motion)
    if forward not in SYNTHETIC_CLASSES:
        raise ValueError(f"motion={motion!r}: expected one of {', '.join(SYNTHETIC_CLASSES)}.")
    frames = _render(forward, num_frames, width, height, np.random.default_rng(seed))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(str(path), np.ascontiguousarray(frames if forward == motion else frames[::-1]),
                video_format=video_format)
    return path


def synthetic_class_names(root) -> tuple | None:
    """The class names of a synthetic dataset at `root`, or None if `root` holds none."""
    marker = Path(root) / MARKER_FILE
    if not marker.is_file():
        return None
    return tuple(json.loads(marker.read_text())["class_names"])

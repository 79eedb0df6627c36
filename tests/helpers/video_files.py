"""Test videos: MPEG-4 AVI at HMDB51's 320x240 whose frames say their own index, and HMDB51-layout trees of them
named after real HMDB51 clips (brackets, `!`, `#` and all)."""

import csv
import os
import shutil
from pathlib import Path

import numpy as np

from hf_video.data.video_writing import write_mpeg4_avi

HEIGHT, WIDTH = 240, 320
INDEX_BITS = 8  # frame indices up to 255


def numbered_frames(num_frames: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """uint8 (T, H, W, 3): the top third encodes the frame index in black/white bars that survive compression;
    below, a horizontal colour ramp that moves with time (so crops and flips are visible)."""
    frames = np.zeros((num_frames, height, width, 3), np.uint8)
    bar_width = width // INDEX_BITS
    columns = np.arange(width)
    for index in range(num_frames):
        for bit in range(INDEX_BITS):
            frames[index, : height // 3, bit * bar_width:(bit + 1) * bar_width] = 255 * ((index >> bit) & 1)
        frames[index, height // 3:, :, 0] = (columns + 3 * index) % 256
        frames[index, height // 3:, :, 1] = 255 - (columns // 2)
        frames[index, height // 3:, :, 2] = 128
    return frames


def frame_number(frame) -> int:
    """Read back the index written by `numbered_frames` from a decoded (H, W, 3) frame."""
    frame = np.asarray(frame)
    height, width = frame.shape[:2]
    bar_width = width // INDEX_BITS
    row = frame[height // 6]
    return sum(int(row[bit * bar_width + bar_width // 2].mean() > 127) << bit for bit in range(INDEX_BITS))


def write_numbered_video(path, num_frames: int, fps: int = 30, **kwargs) -> Path:
    write_mpeg4_avi(str(path), numbered_frames(num_frames), fps=fps, **kwargs)
    return Path(path)


def real_hmdb51_names(reference_dir: Path) -> dict:
    """{class: [video names]} from the real HMDB51 list, names with special characters first."""
    names = {}
    with open(reference_dir / "hmdb51" / "videos.tsv", newline="") as table:
        for row in csv.DictReader(table, delimiter="\t"):
            names.setdefault(row["class"], []).append(row["video"])
    special = set("[]()!#&;")
    return {class_name: sorted(videos, key=lambda name: (not special & set(name), name))
            for class_name, videos in names.items()}


# Per class: (split tag in split 1, split 2, split 3, frame count). Split k rotates which clip is train/test/unused.
CLIPS_PER_CLASS = ((1, 2, 0, 40), (2, 0, 1, 17), (0, 1, 2, 70))


def write_hmdb51_tree(root: Path, reference_dir: Path, class_names) -> Path:
    """videos/<class>/<real name>.avi and annotations/<class>_test_split{1,2,3}.txt with one train, one test and
    one unused clip per class and split. Clips with the same frame count share content (copied, not re-encoded)."""
    names = real_hmdb51_names(reference_dir)
    templates = {}
    for *_, num_frames in CLIPS_PER_CLASS:
        templates[num_frames] = write_numbered_video(root / f"template_{num_frames}.avi", num_frames)
    (root / "annotations").mkdir(parents=True)
    for class_name in class_names:
        class_dir = root / "videos" / class_name
        class_dir.mkdir(parents=True)
        chosen = names[class_name][: len(CLIPS_PER_CLASS)]
        for video_name, (*_, num_frames) in zip(chosen, CLIPS_PER_CLASS):
            shutil.copyfile(templates[num_frames], class_dir / video_name)
        for split in (1, 2, 3):
            lines = [f"{video_name} {tags[split - 1]} \n" for video_name, tags in zip(chosen, CLIPS_PER_CLASS)]
            (root / "annotations" / f"{class_name}_test_split{split}.txt").write_text("".join(lines))
    for template in templates.values():
        os.remove(template)
    return root


def copied_tree(source: Path, destination: Path) -> Path:
    """A copy of a tree, file by file (not hard links: linking a file changes its inode change time, which the
    builders' cache key holds, so the source tree's prepared caches would go stale)."""
    shutil.copytree(source, destination)
    return destination

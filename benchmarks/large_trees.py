"""Trees of thousands of videos in the Something-Something V2 and Kinetics layouts, for the prepare benchmark.

- SSv2: `20bn-something-something-v2/<id>.webm` (VP9 with alternate reference frames, height 240, 12 fps, 2 to 6 s
  as the real clips are) and the four label files, with the 174 real templates written with bracketed placeholders;
  every seventh video (the first among them) in validation, the others in train.
- Kinetics-400: the CVDF layout, `annotations/{train,val}.csv` over the 400 real classes and
  `train|val/<youtube_id>_<start>_<end>.mp4` (H.264, 340x256, 30 fps, 8 to 10 s: the size most pipelines resize
  Kinetics to); every tenth listed video (the first among them) in validation, the others in train; one in 33 of the
  listed videos (3%) has no file, as YouTube removals leave them.

Twelve distinct clips (fewer in a tree of fewer than 120 videos) are encoded (`hmdb51_like.render_clip`: a pan, a
moving disc, noise) and hard-linked under every name, so a tree of thousands of videos is written in a minute; a probe
still decodes each file in full. Everything is written once into the work folder and reused while its recipe is
unchanged.
"""

import csv
import json
import os
from pathlib import Path

import numpy as np

from hf_video.data.video_writing import VIDEO_FORMATS
from hmdb51_like import _reuse_or_reset, render_clip

DISTINCT_CLIPS = 12
MISSING_EVERY = 33  # Kinetics: one listed video in 33 has no file


def _distinct_clips(num_videos: int) -> int:
    """DISTINCT_CLIPS, or fewer for a small tree (a quick check): one per ten videos."""
    return max(1, min(DISTINCT_CLIPS, num_videos // 10))


def _new_tree(root: Path, num_videos: int, video_format: str, frame_range: tuple, size: tuple, fps: int,
              **recipe) -> tuple | None:
    """(the distinct clips, a seeded generator, the recipe to write into `root` once the tree is complete) for a tree
    to write at `root`; None where `root` already holds the tree of this recipe. The clips' lengths are drawn from
    `frame_range` (inclusive), their `size` is (width, height)."""
    from hf_video.data.video_writing import write_video

    distinct = _distinct_clips(num_videos)
    recipe = {**recipe, "videos": num_videos, "distinct": distinct, "encoding": VIDEO_FORMATS[video_format][2]}
    if _reuse_or_reset(root, recipe):
        return None
    rng = np.random.default_rng(0)
    lengths = [int(length) for length in rng.integers(frame_range[0], frame_range[1] + 1, distinct)]
    print(f"writing {distinct} {video_format} clips for the {num_videos}-video tree {root.name} ...", flush=True)
    (root / "templates").mkdir()
    suffix = ".webm" if video_format == "vp9_webm" else ".mp4"
    templates = []
    for index, num_frames in enumerate(lengths):
        path = root / "templates" / f"template_{index}{suffix}"
        write_video(str(path), render_clip(num_frames, index, *size), fps=fps, video_format=video_format,
                    gop_size=fps * 2)
        templates.append(path)
    return templates, rng, recipe


def ssv2_tree(work_dir, num_videos: int) -> Path:
    from hf_video.data.ssv2_labels import SSV2_CLASSES

    root = Path(work_dir).resolve() / f"ssv2_tree_{num_videos}"
    # 2 to 6 s at 12 fps, 240 lines high.
    new = _new_tree(root, num_videos, "vp9_webm", (24, 72), (426, 240), 12, layout="ssv2", validation_every=7)
    if new is None:
        return root
    templates, rng, recipe = new
    videos = root / "20bn-something-something-v2"
    videos.mkdir()
    entries = {"train": [], "validation": []}
    for video_id in range(1, num_videos + 1):
        os.link(templates[video_id % len(templates)], videos / f"{video_id}.webm")
        template = SSV2_CLASSES[int(rng.integers(len(SSV2_CLASSES)))].replace("something", "[something]")
        entries["validation" if video_id % 7 == 1 else "train"].append(
            {"id": str(video_id), "label": template.replace("[something]", "a cup"), "template": template,
             "placeholders": ["a cup"]})
    labels = root / "labels"
    labels.mkdir()
    (labels / "labels.json").write_text(json.dumps({name: str(index) for index, name in enumerate(SSV2_CLASSES)}))
    for split, listed in entries.items():
        (labels / f"{split}.json").write_text(json.dumps(listed))
    (root / "recipe.json").write_text(json.dumps(recipe))
    return root


def kinetics_tree(work_dir, num_videos: int) -> Path:
    from hf_video.data.kinetics_labels import KINETICS400_CLASSES

    root = Path(work_dir).resolve() / f"kinetics400_tree_{num_videos}"
    # 8 to 10 s at 30 fps, 340x256.
    new = _new_tree(root, num_videos, "h264_mp4", (240, 300), (340, 256), 30, layout="kinetics400",
                    missing_every=MISSING_EVERY, validation_every=10)
    if new is None:
        return root
    templates, rng, recipe = new
    (root / "annotations").mkdir()
    rows = {"train": [], "val": []}
    for index in range(num_videos):
        folder = "val" if index % 10 == 0 else "train"
        youtube_id, start = f"{index:011d}", int(rng.integers(0, 300))
        name = f"{youtube_id}_{start:06d}_{start + 10:06d}.mp4"
        label = KINETICS400_CLASSES[int(rng.integers(len(KINETICS400_CLASSES)))]
        rows[folder].append([label, youtube_id, start, start + 10, "validate" if folder == "val" else folder])
        if index % MISSING_EVERY != MISSING_EVERY - 1:
            (root / folder).mkdir(exist_ok=True)
            os.link(templates[index % len(templates)], root / folder / name)
    for folder, folder_rows in rows.items():
        with open(root / "annotations" / f"{folder}.csv", "w", newline="") as table:
            writer = csv.writer(table)
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            writer.writerows(folder_rows)
    (root / "recipe.json").write_text(json.dumps(recipe))
    return root

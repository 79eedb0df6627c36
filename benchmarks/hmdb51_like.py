"""HMDB51-like videos for the data benchmarks: 320x240 MPEG-4 AVI at 30 fps with B-frames, frame counts drawn from
the real HMDB51 list (`tests/data/hmdb51/videos.tsv`), and a full 6,765-video tree under the real names.

The picture is a camera pan over a smooth random texture with a moving disc and sensor-like noise, so that the
encoder spends a realistic bit rate (about 1 Mbit/s, the order of HMDB51's XviD files) and the decoder real work.
Everything is written once into a work folder and reused while its recipe (`recipe.json`) is unchanged.
"""

import csv
import json
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
WIDTH, HEIGHT, FPS = 320, 240, 30


def real_hmdb51_rows(reference_dir: Path = REFERENCE_DIR) -> list[dict]:
    """[{class, video, num_frames}] of the real HMDB51 list, in its order."""
    path = reference_dir / "hmdb51" / "videos.tsv"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: the benchmarks read the real HMDB51 list from the repository's "
                         "tests/data.")
    with open(path, newline="") as table:
        return [{**row, "num_frames": int(row["num_frames"])} for row in csv.DictReader(table, delimiter="\t")]


def render_clip(num_frames: int, seed: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """uint8 (T, H, W, 3): a slow pan over a smooth texture, a disc crossing it, and noise."""
    rng = np.random.default_rng(seed)
    margin = 64
    coarse = rng.uniform(0, 255, size=((height + margin) // 16 + 2, (width + margin) // 16 + 2, 3))
    texture = np.kron(coarse, np.ones((16, 16, 1)))[: height + margin, : width + margin]
    ys, xs = np.mgrid[0:height, 0:width]
    colour = rng.uniform(0, 255, size=3)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        progress = t / max(num_frames - 1, 1)
        dy, dx = int(margin * progress / 2), int(margin * progress)
        frame = texture[dy:dy + height, dx:dx + width].copy()
        centre_x, centre_y = width * (0.2 + 0.6 * progress), height * (0.5 + 0.2 * np.sin(6 * progress))
        frame[(xs - centre_x) ** 2 + (ys - centre_y) ** 2 <= (height / 6) ** 2] = colour
        frames[t] = np.clip(frame + rng.normal(0, 6, size=frame.shape), 0, 255)
    return frames


def _write_clip(job):
    from hf_video.data.video_writing import write_mpeg4_avi

    path, num_frames, seed, width, height, gop_size = job
    write_mpeg4_avi(path, render_clip(num_frames, seed, width, height), fps=FPS, gop_size=gop_size)
    return path


def _write_all(jobs, num_proc: int):
    if num_proc > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(num_proc) as pool:
            return list(pool.imap(_write_clip, jobs, chunksize=4))
    return [_write_clip(job) for job in jobs]


def _reuse_or_reset(folder: Path, recipe: dict) -> bool:
    """True if `folder` holds a complete set made by `recipe`; otherwise empties it and returns False."""
    recipe_file = folder / "recipe.json"
    if recipe_file.is_file() and json.loads(recipe_file.read_text()) == recipe:
        return True
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return False


def hmdb51_like_videos(work_dir, num_videos: int, seed: int = 0, gop_size: int = 12, num_proc: int = 2) -> list:
    """[{video, num_frames, fps}] of `num_videos` clips whose frame counts are drawn (seeded) from the real list."""
    folder = Path(work_dir).resolve() / f"videos_{num_videos}_seed{seed}_gop{gop_size}"
    rows = real_hmdb51_rows()
    counts = [rows[index]["num_frames"] for index in np.random.default_rng(seed).choice(len(rows), num_videos,
                                                                                        replace=False)]
    videos = [{"video": str(folder / f"clip_{index:04d}.avi"), "num_frames": count, "fps": float(FPS)}
              for index, count in enumerate(counts)]
    recipe = {"counts": counts, "seed": seed, "gop_size": gop_size, "size": [WIDTH, HEIGHT]}
    if not _reuse_or_reset(folder, recipe):
        print(f"writing {num_videos} HMDB51-like videos ({sum(counts)} frames) into {folder} ...", flush=True)
        _write_all([(row["video"], row["num_frames"], seed * 100_003 + index, WIDTH, HEIGHT, gop_size)
                    for index, row in enumerate(videos)], num_proc)
        (folder / "recipe.json").write_text(json.dumps(recipe))
    return videos


def full_hmdb51_tree(work_dir, width: int = WIDTH, height: int = HEIGHT, num_proc: int = 2,
                     num_classes: int | None = None) -> Path:
    """A 6,765-video HMDB51 tree (videos/<class>/<real name>, annotations/<class>_test_split{1,2,3}.txt): every
    video has its real frame count. One clip is encoded per distinct frame count and hard-linked under each name of
    that count. Split files: per class, 70 train / 30 test / the rest unused, rotated between the three splits.
    `num_classes` keeps only the first classes (in the list's order), for quick checks."""
    rows = real_hmdb51_rows()
    classes = list(dict.fromkeys(row["class"] for row in rows))[:num_classes]
    rows = [row for row in rows if row["class"] in classes]
    root = Path(work_dir) / f"hmdb51_tree_{width}x{height}_{len(classes)}classes"
    recipe = {"videos": len(rows), "size": [width, height]}
    if _reuse_or_reset(root, recipe):
        return root
    templates = root / "templates"
    templates.mkdir()
    counts = sorted({row["num_frames"] for row in rows})
    print(f"writing {len(counts)} template videos ({sum(counts)} frames) for the {len(rows)}-video tree ...",
          flush=True)
    _write_all([(str(templates / f"{count}.avi"), count, count, width, height, 12) for count in counts], num_proc)
    by_class = {}
    for row in rows:
        class_dir = root / "videos" / row["class"]
        class_dir.mkdir(parents=True, exist_ok=True)
        os.link(templates / f"{row['num_frames']}.avi", class_dir / row["video"])
        by_class.setdefault(row["class"], []).append(row["video"])
    (root / "annotations").mkdir()
    for class_name, names in by_class.items():
        for split in (1, 2, 3):
            rotated = names[(split - 1) * 30:] + names[:(split - 1) * 30]
            tags = {name: 1 for name in rotated[:70]} | {name: 2 for name in rotated[70:100]}
            lines = "".join(f"{name} {tags.get(name, 0)} \n" for name in names)
            (root / "annotations" / f"{class_name}_test_split{split}.txt").write_text(lines)
    (root / "recipe.json").write_text(json.dumps(recipe))
    return root

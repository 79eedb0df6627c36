"""Something-Something V2 trees in the official layout: VP9 WebM videos whose frames say their index (small, 64x48,
12 fps) and the label files, with real templates at their official indices."""

import json
from pathlib import Path

from hf_video.data.ssv2_labels import SSV2_CLASSES
from hf_video.data.video_writing import write_video
from helpers.video_files import numbered_frames

# (id, template as the lists write it, split, frames): real templates.
SSV2_ENTRIES = (
    ("101", "Pushing [something] from left to right", "train", 20),
    ("102", "Pushing [something] from right to left", "train", 17),
    ("103", "Putting [something] on a surface", "train", 23),
    ("104", "Turning the camera left while filming [something]", "train", 15),
    ("201", "Pushing [something] from left to right", "validation", 19),
    ("202", "Putting [something] on a surface", "validation", 21),
)
SSV2_TEST_IDS = ("301", "302")
VIDEOS_FOLDER = "20bn-something-something-v2"


def write_ssv2_videos(folder: Path, entries=SSV2_ENTRIES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for video_id, _, _, num_frames in entries:
        write_video(folder / f"{video_id}.webm", numbered_frames(num_frames, 48, 64), fps=12, video_format="vp9_webm")
    return folder


def write_ssv2_labels(folder: Path, prefix: str = "", labels: dict | None = None, entries=SSV2_ENTRIES) -> None:
    """labels.json (the official 174 templates by default), train.json, validation.json and test.json in `folder`,
    named `<prefix><name>.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = labels or {name: str(index) for index, name in enumerate(SSV2_CLASSES)}
    (folder / f"{prefix}labels.json").write_text(json.dumps(labels, indent=1))
    for split in ("train", "validation"):
        listed = [{"id": video_id, "label": template.replace("[something]", "a cup"), "template": template,
                   "placeholders": ["a cup"]}
                  for video_id, template, entry_split, _ in entries if entry_split == split]
        (folder / f"{prefix}{split}.json").write_text(json.dumps(listed, indent=1))
    (folder / f"{prefix}test.json").write_text(json.dumps([{"id": video_id} for video_id in SSV2_TEST_IDS]))


def write_ssv2_tree(root: Path, entries=SSV2_ENTRIES) -> Path:
    write_ssv2_videos(root / VIDEOS_FOLDER, entries)
    write_ssv2_labels(root / "labels", entries=entries)
    return root

"""A Hub-ready copy of a prepared dataset: parquet shards with every video's bytes inside, and a dataset card.

    python -m hf_video.data.export --dataset hmdb51 --data_dir data/hmdb51 --split 1 --output_dir exports/hmdb51
    huggingface-cli upload you/hmdb51-split1 exports/hmdb51 --repo-type dataset      # or: load_dataset(...).push_to_hub

The prepared rows keep their metadata (label, frame count, rate, size, packet list); the machine-local columns (the
file's size and modification time) go, and `video` becomes a `datasets.Video(decode=False)` column holding the
file's bytes, with the video's id (`<class>/<file>`) as its path. So `load_export(folder)` (or `load_dataset` on
the Hub repo) gives the same rows on any machine, and `VideoClipTransform` decodes them from memory, frame for frame
as from the files. The folder is written beside `output_dir` and renamed into place: it is complete or absent.
"""

import argparse
import math
import os
import shutil
import tempfile
from pathlib import Path

import datasets

from .video_io import check_unchanged

DEFAULT_SHARD_BYTES = 500 * 2**20  # about what the Hub's dataset viewer and streaming handle well
_MACHINE_LOCAL = ("file_size", "file_mtime_ns")


def export_dataset(splits: dict, output_dir, dataset_name: str, homepage: str = "", citation: str = "",
                   max_shard_bytes: int = DEFAULT_SHARD_BYTES, video_root: str | None = None) -> Path:
    """Write `splits` ({name: prepared `Dataset`}, e.g. `load_hmdb51(...)`) to `output_dir` as
    `data/<split>-<i>-of-<n>.parquet` shards of at most about `max_shard_bytes` of video, plus README.md (the card,
    whose metadata tells `load_dataset` the splits). Every video must still be the file that was prepared; relative
    paths (`relative_paths=True`) are read under `video_root`."""
    output_dir = Path(output_dir)
    if output_dir.exists() and any(output_dir.iterdir()):
        raise FileExistsError(f"{output_dir} exists and is not empty; export into a new folder.")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    try:
        counts = {name: _write_split(split, name, staging / "data", max_shard_bytes, video_root)
                  for name, split in splits.items()}
        label_names = next(iter(splits.values())).features["label"].names
        (staging / "README.md").write_text(dataset_card(dataset_name, counts, label_names, homepage, citation),
                                           encoding="utf-8")
        if output_dir.exists():
            output_dir.rmdir()  # empty, checked above
        os.replace(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output_dir


def load_export(location, split: str | None = None, streaming: bool = False):
    """An export as `load_dataset` gives it: a local folder, or its copy on the Hub (a repo id).

    A local folder is read as its parquet files: `load_dataset(folder)` keys its cache on the folder's name and card
    alone (datasets 5.2), so a second export in another folder of the same name would come back as the first one's
    rows."""
    folder = Path(location)
    if not folder.is_dir():
        return datasets.load_dataset(str(location), split=split, streaming=streaming)
    names = sorted({path.name.split("-")[0] for path in (folder / "data").glob("*.parquet")})
    if not names:
        raise FileNotFoundError(f"{folder} holds no data/<split>-*.parquet: is it an export "
                                f"(python -m hf_video.data.export)?")
    if split is not None and split not in names:
        raise ValueError(f"{folder} has the splits {names}, not {split!r}.")
    data_files = {name: str(folder / "data" / f"{name}-*.parquet") for name in names}
    return datasets.load_dataset("parquet", data_files=data_files, split=split, streaming=streaming)


def _write_split(split: datasets.Dataset, name: str, data_dir: Path, max_shard_bytes: int,
                 video_root: str | None) -> int:
    split = split.with_format(None)
    if not all(os.path.isabs(path) for path in split["video"]):
        if video_root is None:
            raise ValueError(f"the {name} rows name their videos relative to their folder (relative_paths=True): "
                             "pass video_root=<that folder>.")
        split = split.map(lambda row: {"video": os.path.join(video_root, row["video"])}, keep_in_memory=True,
                          desc="Resolving paths")
    for row in split.select_columns(["video", *_MACHINE_LOCAL]):
        check_unchanged(row["video"], row["file_size"], row["file_mtime_ns"])
    sizes = split["file_size"]
    num_shards = max(1, math.ceil(sum(sizes) / max_shard_bytes))
    features = datasets.Features({**{column: feature for column, feature in split.features.items()
                                     if column not in _MACHINE_LOCAL}, "video": datasets.Video(decode=False)})
    data_dir.mkdir(parents=True, exist_ok=True)
    for index in range(num_shards):
        # One shard's videos in memory at a time (not a copy of every video in the datasets cache).
        shard = split.shard(num_shards, index, contiguous=True).map(
            _embed_video, batched=True, batch_size=16, remove_columns=list(_MACHINE_LOCAL), features=features,
            keep_in_memory=True, desc=f"Embedding the {name} videos ({index + 1}/{num_shards})")
        shard.to_parquet(str(data_dir / f"{name}-{index:05d}-of-{num_shards:05d}.parquet"))
    return len(split)


def _embed_video(batch: dict) -> dict:
    videos = []
    for path, video_id in zip(batch["video"], batch["video_id"]):
        with open(path, "rb") as file:
            videos.append({"path": video_id, "bytes": file.read()})
    return {"video": videos}


def dataset_card(dataset_name: str, counts: dict, label_names: list, homepage: str, citation: str) -> str:
    """README.md of an export: the metadata that maps `data/<split>-*.parquet` to splits, then what the rows hold."""
    configs = "\n".join(f"  - split: {name}\n    path: data/{name}-*.parquet" for name in counts)
    splits = "\n".join(f"| {name} | {count:,} |" for name, count in counts.items())
    citation_block = f"\n## Citation\n\n```bibtex\n{citation.strip()}\n```\n" if citation else ""
    return f"""---
license: other
task_categories:
- video-classification
tags:
- hf_video
configs:
- config_name: default
  data_files:
{configs}
---

# {dataset_name}, prepared by hf_video

{dataset_name} as prepared by hf_video's builder, with every video inside (parquet shards). Each row: `video` (the
file's bytes, its path is the video's id), `video_id` (`<class>/<file>`), `label` ({len(label_names)} classes,
from `{label_names[0]}` to `{label_names[-1]}`), `num_frames` (frames that decode), `fps`, `width`, `height`, and
`packets` (the stream's packet list, which spares each read a pass over the file).

| split | videos |
|---|---|
{splits}

```python
from datasets import load_dataset
from hf_video.data import ClipSettings, VideoClipTransform

dataset = load_dataset("<this repository>")  # a local copy: hf_video.data.load_export(folder)
dataset["train"].set_transform(VideoClipTransform(ClipSettings(), train=True))  # decodes from the bytes
```

## Licence

The videos belong to the dataset's authors{f" ({homepage})" if homepage else ""}; their terms decide whether you may
redistribute them. Check them before pushing this folder to a public repository, or keep the repository private.
{citation_block}"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["hmdb51", "ucf101"], required=True)
    parser.add_argument("--data_dir", required=True, help="the dataset's folder, as for load_hmdb51 / load_ucf101")
    parser.add_argument("--split", type=int, choices=[1, 2, 3], default=1)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--cache_dir", default=None, help="datasets cache (default HF's)")
    parser.add_argument("--num_proc", type=int, default=None, help="processes probing videos at prepare")
    parser.add_argument("--max_shard_mb", type=int, default=DEFAULT_SHARD_BYTES // 2**20)
    args = parser.parse_args(argv)
    if args.dataset == "ucf101":
        from . import ucf101 as module

        splits, name = module.load_ucf101(args.data_dir, args.split, args.cache_dir, args.num_proc), "UCF101"
    else:
        from . import hmdb51 as module

        splits, name = module.load_hmdb51(args.data_dir, args.split, args.cache_dir, args.num_proc), "HMDB51"
    written = export_dataset(splits, args.output_dir, f"{name} (split {args.split})", module.HOMEPAGE,
                             module.CITATION, args.max_shard_mb * 2**20)
    print(f"Wrote {written}: load it with hf_video.data.export.load_export({str(written)!r}) (or load_dataset on its "
          f"Hub copy); push it with `huggingface-cli upload <you>/<name> {written} --repo-type dataset`.")


if __name__ == "__main__":
    main()

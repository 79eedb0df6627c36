"""A Hub-ready copy of a prepared dataset: parquet shards with every video's bytes inside, and a dataset card.

    python -m hf_video.data.export --dataset hmdb51 --data_dir data/hmdb51 --split 1 --output_dir exports/hmdb51
    hf upload you/hmdb51-split1 exports/hmdb51 --repo-type dataset      # or: load_dataset(...).push_to_hub

The prepared rows keep their metadata (label, frame count, rate, size, packet list); the machine-local columns (the
file's size and modification time) go, and `video` becomes a `datasets.Video(decode=False)` column holding the
file's bytes, with the video's id (`<class>/<file>`) as its path. So `load_export(folder)` (or `load_dataset` on
the Hub repo) gives the same rows on any machine, and `VideoClipTransform` decodes them from memory, frame for frame
as from the files. The folder is written beside `output_dir` and renamed into place: it is complete or absent.
"""

import argparse
import hashlib
import math
import os
import re
from pathlib import Path

from ..extras import require

require("data", "datasets")

import datasets  # noqa: E402

from ..atomic_folder import atomic_folder  # noqa: E402
from ..clips.video_io import check_unchanged  # noqa: E402

DEFAULT_SHARD_BYTES = 500 * 2**20  # about what the Hub's dataset viewer and streaming handle well
_MACHINE_LOCAL = ("file_size", "file_mtime_ns")
_NEEDED_COLUMNS = ("video", "video_id", "label", "num_frames", "fps", *_MACHINE_LOCAL)
# A Hub repository id: a name, or owner/name; anything else given as a location is a local path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_SHARD_NAME = re.compile(r"^(?P<split>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet$")


class ExportError(ValueError):
    """An export folder is incomplete or is not an export; the message names the file and what to do."""


def export_dataset(splits: dict, output_dir, dataset_name: str, homepage: str = "", citation: str = "",
                   max_shard_bytes: int = DEFAULT_SHARD_BYTES, video_root: str | None = None,
                   license: str = "other") -> Path:
    """Write `splits` ({name: prepared `Dataset`}, e.g. `load_hmdb51(...)`) to `output_dir` as
    `data/<split>-<i>-of-<n>.parquet` shards of at most about `max_shard_bytes` of video (one video at least), plus
    README.md (the card, whose metadata tells `load_dataset` the splits and their row counts). Every video must still
    be the file that was prepared; relative paths (`relative_paths=True`) are read under `video_root`. `license`: the
    videos' licence as the Hub names it ("other": the dataset's own terms, linked to `homepage`). The folder is
    complete or absent (`atomic_folder`)."""
    _check_export_arguments(splits, max_shard_bytes)
    with atomic_folder(output_dir) as staging:
        counts = {name: _write_split(split, name, staging / "data", max_shard_bytes, video_root)
                  for name, split in splits.items()}
        label_names = next(iter(splits.values())).features["label"].names
        fingerprints = {path.name: shard_fingerprint(path) for path in sorted((staging / "data").glob("*.parquet"))}
        (staging / "README.md").write_text(dataset_card(dataset_name, counts, label_names, homepage, citation,
                                                        license, fingerprints), encoding="utf-8")
    return Path(output_dir)


def _check_export_arguments(splits, max_shard_bytes) -> None:
    if not isinstance(splits, dict) or not splits:
        raise ValueError(f"splits={str(splits)[:200]}: pass {{split name: prepared Dataset}} with at least one split, "
                         "e.g. load_hmdb51(...).")
    for name, split in splits.items():
        if not isinstance(split, datasets.Dataset):
            raise ValueError(f"splits[{name!r}] is a {type(split).__name__}, not a prepared datasets.Dataset.")
        missing = [column for column in _NEEDED_COLUMNS if column not in split.column_names]
        if missing:
            raise ValueError(f"splits[{name!r}] lacks the columns {missing} of a prepared split (load_hmdb51, "
                             "load_ucf101): export those, not a transformed or reduced copy.")
        if not len(split):
            raise ValueError(f"splits[{name!r}] has no rows: leave the split out.")
    if isinstance(max_shard_bytes, bool) or not isinstance(max_shard_bytes, int) or max_shard_bytes < 1:
        raise ValueError(f"max_shard_bytes={max_shard_bytes!r}: expected a positive number of bytes.")


def is_export(folder) -> bool:
    """Whether `folder` holds an export: its card and parquet shards (not checked further; `load_export` does)."""
    folder = Path(folder)
    return (folder / "README.md").is_file() and any((folder / "data").glob("*.parquet"))


def load_export(location, split: str | None = None, streaming: bool = False):
    """An export as `load_dataset` gives it: a local folder, or its copy on the Hub (a repo id, whose split sizes
    `load_dataset` checks against the card).

    A local folder is checked first: every shard of every split there (`<split>-<i>-of-<n>`), as many rows as its
    card says, readable parquet with an export's columns, and labels within the classes; any problem is an
    `ExportError` naming the file. It is then read as its parquet files: `load_dataset(folder)` keys its cache on the
    folder's name and card alone (datasets 5.2), so a second export in another folder of the same name would come
    back as the first one's rows."""
    folder = Path(location)
    if not folder.is_dir():
        if not _HUB_ID.match(str(location)):
            raise ExportError(f"{location}: no such folder; pass an export's folder (python -m hf_video.data.export "
                              "writes one) or a Hub dataset id (owner/name).")
        try:
            return datasets.load_dataset(str(location), split=split, streaming=streaming)
        except FileNotFoundError as error:  # datasets' DatasetNotFoundError is one
            raise ExportError(f"{location}: neither a folder here nor a dataset on the Hub ({error}); pass an "
                              "export's folder or a Hub dataset id.") from error
    shards = checked_export_shards(folder)
    if split is not None and split not in shards:
        raise ValueError(f"{folder} has the splits {sorted(shards)}, not {split!r}.")
    data_files = {name: [str(path) for path in paths] for name, paths in shards.items()}
    return datasets.load_dataset("parquet", data_files=data_files, split=split, streaming=streaming)


def checked_export_shards(folder: Path) -> dict:
    """{split: its shard files} of the export in `folder`, after the checks `load_export` lists."""
    import pyarrow
    import pyarrow.parquet

    card_path = folder / "README.md"
    if not card_path.is_file():
        raise ExportError(f"{folder} has no README.md: is it an export (python -m hf_video.data.export)?")
    rows_in_card, fingerprints = _card_row_counts(card_path), _card_fingerprints(card_path)
    found = {}
    for path in sorted((folder / "data").glob("*.parquet")):
        match = _SHARD_NAME.match(path.name)
        if match is None:
            raise ExportError(f"{path}: not a shard name of an export (<split>-<i>-of-<n>.parquet); remove it.")
        found.setdefault(match["split"], []).append((int(match["index"]), int(match["count"]), path))
    if set(found) != set(rows_in_card):
        raise ExportError(f"{folder}: the card lists the splits {sorted(rows_in_card)}, the data/ folder holds "
                          f"{sorted(found) or 'no shards'}: the export is incomplete; download or export it again.")
    shards = {}
    for name, entries in found.items():
        _check_whole(folder / "data", name, entries)
        paths = [path for _, _, path in sorted(entries)]
        rows = 0
        for path in paths:
            try:
                with pyarrow.parquet.ParquetFile(path) as shard:  # its footer once: schema and row count
                    rows += shard.metadata.num_rows
                    _check_shard(path, shard.schema_arrow)
                    _check_labels(path, shard.schema_arrow, shard.read(columns=["label"])["label"])
            except (pyarrow.ArrowException, OSError) as error:
                raise ExportError(f"{path}: not a readable shard of an export ({error}); download or export it "
                                  "again.") from error
        if rows != rows_in_card[name]:
            raise ExportError(f"{folder}: the {name} split has {rows} rows, its card says {rows_in_card[name]}: "
                              "a shard is truncated or replaced; download or export it again.")
        for path in paths:
            if fingerprints.get(path.name) != shard_fingerprint(path):
                raise ExportError(f"{path}: not the shard this export's card records (another export's shard of the "
                                  "same name, or changed since); download or export it again.")
        shards[name] = paths
    return shards


def _check_whole(data_dir: Path, name: str, entries: list) -> None:
    """Every shard of a split, `<split>-<i>-of-<n>` for i < n with one n, and nothing else."""
    counts = sorted({count for _, count, _ in entries})
    if len(counts) > 1:
        cut_into = " and ".join(map(str, counts))
        raise ExportError(f"{data_dir}: the {name} split mixes shards of exports cut into {cut_into} shards "
                          f"({', '.join(path.name for _, _, path in entries[:6])}); keep one export's shards: download "
                          "or export it again.")
    count = counts[0]
    missing = sorted(set(range(count)) - {index for index, _, _ in entries})
    extra = [path.name for index, _, path in entries if index >= count]
    if missing or extra:
        missing_names = ", ".join(f"{name}-{index:05d}-of-{count:05d}.parquet" for index in missing[:5])
        raise ExportError(f"{data_dir}: the {name} split is not whole ("
                          + "; ".join(filter(None, [missing_names and f"missing {missing_names}",
                                                    extra and f"{', '.join(extra)} beyond its {count} shards"]))
                          + "): download or export it again.")


def shard_fingerprint(path: Path) -> str:
    """What tells one shard from another export's shard of the same name and row count, without reading its videos:
    its size, its parquet footer (row groups, offsets, statistics) and its video ids."""
    import pyarrow.parquet

    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with open(path, "rb") as file:
        file.seek(-8, os.SEEK_END)
        footer_length = int.from_bytes(file.read(4), "little")
        file.seek(-8 - footer_length, os.SEEK_END)
        digest.update(file.read(footer_length))
    digest.update("\n".join(pyarrow.parquet.read_table(path, columns=["video_id"])["video_id"].to_pylist()).encode())
    return digest.hexdigest()


def _card_row_counts(card_path: Path) -> dict:
    from huggingface_hub import DatasetCard

    try:
        splits = DatasetCard.load(card_path).data.to_dict()["dataset_info"]["splits"]
        return {entry["name"]: int(entry["num_examples"]) for entry in splits}
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"{card_path}: the card does not list its splits' row counts (dataset_info.splits); "
                          "export the dataset again with this version of hf_video.") from error


def _card_fingerprints(card_path: Path) -> dict:
    from huggingface_hub import DatasetCard

    fingerprints = DatasetCard.load(card_path).data.to_dict().get("hf_video_shard_fingerprints")
    if not isinstance(fingerprints, dict):
        raise ExportError(f"{card_path}: the card records no shard fingerprints (hf_video_shard_fingerprints); "
                          "export the dataset again with this version of hf_video.")
    return fingerprints


def _check_shard(path: Path, schema) -> None:
    missing = [column for column in ("video", "video_id", "label", "num_frames", "fps") if column not in schema.names]
    if missing:
        raise ExportError(f"{path}: lacks the columns {missing}; it is not a shard of an export.")


def _check_labels(path: Path, schema, labels) -> None:
    import pyarrow.compute

    label = datasets.Features.from_arrow_schema(schema)["label"]
    if not isinstance(label, datasets.ClassLabel):
        raise ExportError(f"{path}: its label column is not a class label; it is not a shard of an export.")
    bounds = pyarrow.compute.min_max(labels)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if labels.null_count or (low is not None and (low < 0 or high >= label.num_classes)):
        raise ExportError(f"{path}: labels from {low} to {high} (missing: {labels.null_count}) for "
                          f"{label.num_classes} classes; every row needs a class of the export.")


def _write_split(split: datasets.Dataset, name: str, data_dir: Path, max_shard_bytes: int,
                 video_root: str | None) -> int:
    split = split.with_format(None)
    # Rows that hold their video's bytes already (your own videos prepared from a dataset of bytes) are embedded as
    # they are; rows of paths are read, each checked to be the file the dataset was prepared from.
    holds_bytes = isinstance(split.features["video"], dict)
    if not holds_bytes and not all(os.path.isabs(path) for path in split["video"]):
        if video_root is None:
            raise ValueError(f"the {name} rows name their videos relative to their folder (relative_paths=True): "
                             "pass video_root=<that folder>.")
        split = split.map(lambda row: {"video": os.path.join(video_root, row["video"])}, keep_in_memory=True,
                          desc="Resolving paths")
    for row in ([] if holds_bytes else split.select_columns(["video", *_MACHINE_LOCAL])):
        check_unchanged(row["video"], row["file_size"], row["file_mtime_ns"])
    sizes = split["file_size"]
    # A shard holds one video at least: a limit below a video's size gives one shard per video, never an empty one.
    num_shards = min(len(split), max(1, math.ceil(sum(sizes) / max_shard_bytes)))
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
    for video, video_id in zip(batch["video"], batch["video_id"]):
        if isinstance(video, dict):
            videos.append({"path": video_id, "bytes": video["bytes"]})
            continue
        with open(video, "rb") as file:
            videos.append({"path": video_id, "bytes": file.read()})
    return {"video": videos}


def dataset_card(dataset_name: str, counts: dict, label_names: list, homepage: str, citation: str,
                 license: str = "other", fingerprints: dict | None = None) -> str:
    """README.md of an export: metadata (`DatasetCardData`: the shards of each split and their row counts, each
    shard's fingerprint, the licence, the task), then what the rows hold and how to read them."""
    from huggingface_hub import DatasetCard, DatasetCardData

    total = sum(counts.values())
    licence = {"license": license}
    if license == "other" and homepage:  # the videos' terms are the dataset's own, on its site
        name = re.sub(r"\s*\(.*\)$", "", dataset_name)  # "HMDB51 (split 1)" -> "hmdb51-terms"
        licence.update(license_name=re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + "-terms",
                       license_link=homepage)
    data = DatasetCardData(
        pretty_name=dataset_name, task_categories=["video-classification"], tags=["hf_video", "video"],
        size_categories=[_size_category(total)], **licence,
        configs=[{"config_name": "default",
                  "data_files": [{"split": name, "path": f"data/{name}-*.parquet"} for name in counts]}],
        dataset_info={"splits": [{"name": name, "num_examples": count} for name, count in counts.items()]},
        hf_video_shard_fingerprints=fingerprints or {})
    splits = "\n".join(f"| {name} | {count:,} |" for name, count in counts.items())
    citation_block = f"\n## Citation\n\n```bibtex\n{citation.strip()}\n```\n" if citation else ""
    body = f"""
# {dataset_name}, prepared by hf_video

{dataset_name} as prepared by hf_video's builder, with every video inside (parquet shards). Each row: `video` (the
file's bytes, its path is the video's id), `video_id` (`<class>/<file>`), `label` ({len(label_names)} classes,
from `{label_names[0]}` to `{label_names[-1]}`), `num_frames` (frames that decode), `fps`, `width` and `height` (as
displayed), `rotation`, and `packets` (the stream's packet list, which spares each read a pass over the file).

| split | videos |
|---|---|
{splits}

```python
from datasets import load_dataset
from hf_video.clips import ClipSettings, VideoClipTransform

dataset = load_dataset("<this repository>")  # a local copy: hf_video.data.load_export(folder)
dataset["train"].set_transform(VideoClipTransform(ClipSettings(), train=True))  # decodes from the bytes
```

The `video` column is `Video(decode=False)` on purpose: datasets' own `Video()` decodes with torchcodec, which returned
neighbouring frames on HMDB51-style AVIs (DivX/XviD with B-frames) and never their last frame. hf_video's
`VideoClipTransform` reads the bytes with its exact decoder: frame k is the k-th frame FFmpeg shows, or an error.

## Licence

{_licence_text(license, homepage)}
{citation_block}"""
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}"))


def _licence_text(license: str, homepage: str) -> str:
    if license != "other":
        return f"The videos are under the {license} licence."
    return (f"The videos belong to the dataset's authors{f' ({homepage})' if homepage else ''}; their terms decide "
            "whether you may redistribute them. Check them before pushing this folder to a public repository, or keep "
            "the repository private.")


def _size_category(rows: int) -> str:
    """The Hub's size category for a dataset of `rows` rows."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M"


def main(argv=None):
    from .dataset_kinds import DATASET_KINDS, dataset_kind_at

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(set(DATASET_KINDS) - {"synthetic-motion"}), default="hmdb51",
                        help="the layout of data_dir (a synthetic motion set is found by its marker file)")
    parser.add_argument("--data_dir", required=True, help="the dataset's folder, as for load_hmdb51 / load_ucf101")
    parser.add_argument("--split", type=int, choices=[1, 2, 3], default=1)
    parser.add_argument("--class_names", default=None,
                        help="comma-separated class folder names, in label order (default: the dataset's own)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--cache_dir", default=None, help="datasets cache (default HF's)")
    parser.add_argument("--num_proc", type=int, default=None, help="processes probing videos at prepare")
    parser.add_argument("--max_shard_mb", type=int, default=DEFAULT_SHARD_BYTES // 2**20)
    args = parser.parse_args(argv)
    kind = dataset_kind_at(args.data_dir, args.dataset)
    if args.class_names:
        kind = kind.with_class_names(name.strip() for name in args.class_names.split(",") if name.strip())
    splits = kind.load(args.data_dir, split=args.split, cache_dir=args.cache_dir, num_proc=args.num_proc)
    homepage, citation = kind.homepage_and_citation()
    written = export_dataset(splits, args.output_dir, f"{kind.name} (split {args.split})", homepage, citation,
                             args.max_shard_mb * 2**20, license=kind.license)
    print(f"Wrote {written}: load it with hf_video.data.export.load_export({str(written)!r}) (or load_dataset on its "
          f"Hub copy); push it with `hf upload <you>/<name> {written} --repo-type dataset`.")


if __name__ == "__main__":
    main()

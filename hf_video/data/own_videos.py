"""Your own videos as a prepared dataset, exactly as the builders prepare theirs: class folders, datasets' videofolder
layout, list files, or any `datasets.Dataset` with a video column and a label column.

    load_videos("my_videos/")                        # my_videos/<label>/<file>, or train/ validation/ test/ of them,
                                                     # or a metadata.csv / .jsonl with file_name (videofolder)
    load_videos("lists/")                            # train.csv, validation.csv, test.csv (or .tsv, .jsonl)
    load_videos("clips.csv", train_val_split=0.15)   # one list: path,label[,start,end]; a seeded stratified split
    load_videos(train_dir="train/", validation_dir="val/")
    load_videos("someone/their-videos")              # a dataset on the Hub with a video column
    prepare_videos(dataset, video_column="clip", label_column="action")

Every video is probed once (frame count by decoding, rate, size, packet list) and cached as the builders' rows are;
every bad file, label or segment is named at once, and nothing is written until all are good. A list's `start` and
`end` (seconds, optional) trim a clip out of a longer video: its frames are those shown from `start` up to, not
including, `end`, and clips are sampled inside them. Label names come from a `ClassLabel` or the sorted label strings.
"""

import os
import random

import datasets

from ..clips.segments import segment_frames
from ..clips.video_io import InMemoryVideo
from ..clips.video_sources import VIDEO_SUFFIXES
from .video_builder import VideoDataError, probe_videos, row_metadata, video_features

VIDEO_COLUMN_NAMES = ("video", "path", "file_name", "video_path", "filename")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "category")
SPLIT_NAMES = {"train": "train", "validation": "validation", "val": "validation", "valid": "validation",
               "test": "test"}
LIST_SUFFIXES = (".csv", ".tsv", ".jsonl")
VIDEOFOLDER_SUFFIXES = (".mkv", ".mp4", ".avi", ".mpeg", ".mov")  # what datasets' videofolder reads (datasets 5.2)


class OwnVideosError(VideoDataError):
    dataset = "Your videos"


def load_videos(source=None, *, train_dir=None, validation_dir=None, test_dir=None, config_name: str | None = None,
                video_column: str | None = None, label_column: str | None = None,
                train_val_split: float | None = None, seed: int = 0, cache_dir: str | None = None,
                num_proc: int | None = None, skip_unreadable: bool = False, class_names=None,
                **hub_kwargs) -> datasets.DatasetDict:
    """Your videos, prepared: `source` is a folder (class folders, videofolder's layout or split list files), a list
    file, a `Dataset` / `DatasetDict`, or a Hub dataset id; or give `train_dir` (and `validation_dir`, `test_dir`),
    each a class folder or a list file. `train_val_split`: the fraction of the training videos held out as the
    validation split (stratified by class, drawn with `seed`) where there is none. `class_names`: the classes in
    label order (default: a ClassLabel's, else the sorted label strings). `hub_kwargs` (token, revision) go to
    `load_dataset`."""
    if isinstance(source, (datasets.Dataset, datasets.DatasetDict)):
        raw, base_dir = source, None
    elif any((train_dir, validation_dir, test_dir)):
        if source is not None:
            raise ValueError(f"source={source!r} and train_dir/validation_dir/test_dir: give one or the other.")
        raw = datasets.DatasetDict({split: _read_split_source(os.fspath(folder), split, cache_dir)
                                    for split, folder in (("train", train_dir), ("validation", validation_dir),
                                                          ("test", test_dir)) if folder is not None})
        base_dir = None  # each split's paths are absolute already
    elif source is None:
        raise ValueError("load_videos needs a source (a folder, a list file, a dataset or a Hub id) or train_dir.")
    else:
        raw, base_dir = read_source(os.fspath(source), config_name, cache_dir, hub_kwargs)
    return prepare_videos(raw, video_column, label_column, base_dir=base_dir, class_names=class_names,
                          train_val_split=train_val_split,
                          seed=seed, cache_dir=cache_dir, num_proc=num_proc, skip_unreadable=skip_unreadable,
                          location=source if isinstance(source, (str, os.PathLike)) else train_dir)


def read_source(source: str, config_name=None, cache_dir=None, hub_kwargs=None) -> tuple:
    """(the raw DatasetDict, the folder relative paths resolve against) of a folder, list file, parquet table or Hub
    id: the rows as they are, nothing probed (`prepare_videos` probes them; `hf_video.predict` reads them as they
    come)."""
    if os.path.isfile(source):
        if source.endswith(".parquet"):
            return datasets.load_dataset("parquet", data_files=source, cache_dir=cache_dir), None
        if not source.endswith(LIST_SUFFIXES):
            raise OwnVideosError(source, [f"{source} is a file, but not a list of videos (.csv, .tsv or .jsonl) or "
                                          "a parquet table"])
        return datasets.DatasetDict({"train": read_list_file(source)}), os.path.dirname(os.path.abspath(source))
    if os.path.isdir(source):
        if _holds_tables(source):  # a dataset saved as parquet files (as the Hub holds them): datasets reads it
            return datasets.load_dataset(source, config_name, cache_dir=cache_dir), None
        lists = split_list_files(source)
        if lists:
            return datasets.DatasetDict({split: read_list_file(path) for split, path in lists.items()}), \
                os.path.abspath(source)
        return _folder_videos(source, cache_dir), os.path.abspath(source)
    if source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise OwnVideosError(source, [f"{source}: no such file or folder"])
    try:
        loaded = datasets.load_dataset(source, config_name, cache_dir=cache_dir, **(hub_kwargs or {}))
    except (FileNotFoundError, ConnectionError, OSError) as error:
        raise OwnVideosError(source, [f"{source}: no such folder or list file here, and no dataset of that name on "
                                      f"the Hub could be read ({str(error).splitlines()[0]})"]) from None
    return loaded, None


def _read_split_source(path: str, split: str, cache_dir) -> datasets.Dataset:
    if os.path.isfile(path):
        return read_list_file(path)
    if not os.path.isdir(path):
        raise OwnVideosError(path, [f"--{split}_dir {path}: no such folder or list file"])
    loaded = _folder_videos(path, cache_dir)
    return datasets.concatenate_datasets(list(loaded.values())) if len(loaded) > 1 else next(iter(loaded.values()))


def _folder_videos(folder: str, cache_dir) -> datasets.DatasetDict:
    """The videos of a folder: datasets' videofolder where a metadata file names them, else class folders
    (`<label>/<file>`, under split folders or not), every video suffix included."""
    if _metadata_files(folder):
        return _videofolder(folder, cache_dir)
    entries = sorted(name for name in os.listdir(folder) if os.path.isdir(os.path.join(folder, name)))
    split_folders = {SPLIT_NAMES[name]: name for name in entries if name in SPLIT_NAMES}
    if split_folders:
        return datasets.DatasetDict({split: _class_folder_rows(os.path.join(folder, name))
                                     for split, name in split_folders.items()})
    return datasets.DatasetDict({"train": _class_folder_rows(folder)})


def _class_folder_rows(folder: str) -> datasets.Dataset:
    """A Dataset of (video path, label) of `folder/<label>/...` (files at any depth under their class folder)."""
    rows, stray = [], []
    folder = os.path.abspath(folder)  # rows name their files wherever the dataset is read from
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            for root, folders, files in os.walk(path):
                folders.sort()
                rows += [{"video": os.path.join(root, file), "label": name} for file in sorted(files)
                         if is_video_file(file)]
        elif is_video_file(name):
            stray.append(name)
    problems = [f"{folder}: {len(stray)} video(s) outside any class folder ({', '.join(stray[:3])}): put each in "
                "the folder of its label"] if stray else []
    if not rows:
        problems.append(f"{folder}: no videos in class folders (<label>/<file>; suffixes {', '.join(VIDEO_SUFFIXES)})")
    if problems:
        raise OwnVideosError(folder, problems)
    return datasets.Dataset.from_list(rows)


def _metadata_files(folder: str) -> list:
    return [os.path.join(root, file) for root, _, files in os.walk(folder) for file in files
            if file in ("metadata.csv", "metadata.jsonl")]


def _videofolder(folder: str, cache_dir) -> datasets.DatasetDict:
    """datasets' own videofolder reading of `folder` (metadata files naming the videos), refused where it would
    leave videos out (it reads a few suffixes only)."""
    try:
        loaded = datasets.load_dataset("videofolder", data_dir=folder, cache_dir=cache_dir)
    except (FileNotFoundError, ValueError) as error:
        raise OwnVideosError(folder, [f"{folder}: datasets' videofolder cannot read it: "
                                      f"{str(error).splitlines()[0]}"]) from None
    listed = {os.path.basename(row["path"]) for split in loaded.values()
              for row in split.cast_column("video", datasets.Video(decode=False))["video"]}
    left_out = sorted(file for root, _, files in os.walk(folder) for file in files
                      if is_video_file(file) and file not in listed)
    if left_out:
        raise OwnVideosError(folder, [f"datasets' videofolder leaves out {len(left_out)} video(s) "
                                      f"({', '.join(left_out[:3])}): it reads only "
                                      f"{', '.join(VIDEOFOLDER_SUFFIXES)}; convert them, or list the videos in a "
                                      "train.csv (path,label) instead of a metadata file"])
    return loaded


def is_video_file(name: str) -> bool:
    return name.lower().endswith(VIDEO_SUFFIXES)


def _holds_tables(folder: str) -> bool:
    """Whether a folder holds a dataset as parquet files (at its top or under data/) rather than videos."""
    return any(name.endswith(".parquet") for place in (folder, os.path.join(folder, "data")) if os.path.isdir(place)
               for name in os.listdir(place))


def split_list_files(folder: str) -> dict:
    """{split: list file} of a folder holding train.csv, validation.csv, test.csv (or .tsv, .jsonl; val.* and
    valid.* name the validation split), where there is no videofolder metadata."""
    found = {}
    for name in sorted(os.listdir(folder)):
        stem, suffix = os.path.splitext(name)
        if suffix in LIST_SUFFIXES and stem in SPLIT_NAMES and os.path.isfile(os.path.join(folder, name)):
            split = SPLIT_NAMES[stem]
            if split in found:
                raise OwnVideosError(folder, [f"two lists of the {split} split: {os.path.basename(found[split])} "
                                              f"and {name}; keep one"])
            found[split] = os.path.join(folder, name)
    return found


def read_list_file(path: str) -> datasets.Dataset:
    """A list file's rows as a Dataset of strings (CSV and TSV with a header row; JSONL, one object per line).
    Relative paths in it are resolved against its folder by `prepare_videos`."""
    import csv
    import json

    with open(path, encoding="utf-8", newline="") as file:
        if path.endswith(".jsonl"):
            rows = []
            for number, line in enumerate(file, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as error:
                        raise OwnVideosError(path, [f"line {number} is not JSON ({error.msg})"]) from None
        else:
            rows = list(csv.DictReader(file, delimiter="\t" if path.endswith(".tsv") else ","))
    if not rows:
        raise OwnVideosError(path, [f"{path} lists no videos"])
    columns = list(rows[0])
    odd = [number for number, row in enumerate(rows, 2) if not isinstance(row, dict) or None in row
           or list(row) != columns]
    if odd:
        raise OwnVideosError(path, [f"rows {odd[:5]} have other columns than the header's {columns}"])
    absolute = os.path.dirname(os.path.abspath(path))
    dataset = datasets.Dataset.from_list(rows)
    return dataset.add_column("_list_folder", [absolute] * len(rows))


def prepare_videos(dataset, video_column: str | None = None, label_column: str | None = None, *,
                   base_dir: str | None = None, class_names=None, train_val_split: float | None = None,
                   seed: int = 0, cache_dir: str | None = None, num_proc: int | None = None,
                   skip_unreadable: bool = False, location=None) -> datasets.DatasetDict:
    """A `Dataset` / `DatasetDict` of videos and labels as the builders' prepared splits (the columns of
    `video_features`, plus `start_frame` and `end_frame` where rows trim a segment). Its video column holds paths
    (relative ones under `base_dir`, else the working folder), `datasets.Video` values (decoded or not) or bytes;
    its label column a `ClassLabel`, strings or (with `class_names`) indices."""
    splits = dataset if isinstance(dataset, datasets.DatasetDict) else datasets.DatasetDict({"train": dataset})
    location = location or "the dataset"
    if not splits:
        raise OwnVideosError(location, ["no split holds videos"])
    # Each split's own columns (lists of one dataset may name them differently), unless named.
    columns = {split: (video_column or _found_column(rows, VIDEO_COLUMN_NAMES, "video", split),
                       label_column or _found_column(rows, LABEL_COLUMN_NAMES, "label", split))
               for split, rows in splits.items()}
    problems = [f"the {split} split has no {kind} column {name!r} (its columns: {', '.join(rows.column_names)})"
                for split, rows in splits.items() for kind, name in zip(("video", "label"), columns[split])
                if name is not None and name not in rows.column_names]
    problems += [f"the {split} split has no {kind} column: none of {', '.join(names)} among its columns "
                 f"{', '.join(rows.column_names)}; name it (--{kind}_column_name)"
                 for split, rows in splits.items() for kind, name, names in
                 zip(("video", "label"), columns[split], (VIDEO_COLUMN_NAMES, LABEL_COLUMN_NAMES)) if name is None]
    if problems:
        raise OwnVideosError(location, problems)
    class_names = _class_names(splits, columns, class_names, location)
    requests, problems = [], []
    for split, rows in splits.items():
        split_video_column, split_label_column = columns[split]
        if isinstance(rows.features[split_video_column], datasets.Video):
            rows = rows.cast_column(split_video_column, datasets.Video(decode=False))
        for index, row in enumerate(rows):
            request, problem = _request(split, index, row, split_video_column, split_label_column, class_names,
                                        base_dir)
            if problem:
                problems.append(problem)
            else:
                requests.append(request)
    if problems:
        raise OwnVideosError(location, problems)
    try:
        prepared = _generated(requests, class_names, cache_dir, num_proc, skip_unreadable, location)
    except datasets.exceptions.DatasetGenerationError as error:  # datasets wraps what the generator raises
        if isinstance(error.__cause__, OwnVideosError):
            raise error.__cause__ from None
        raise
    result = datasets.DatasetDict({split: prepared.filter(lambda name, split=split: name == split,
                                                          input_columns="split").remove_columns("split")
                                   for split in splits})
    if train_val_split and "validation" not in result:
        result = stratified_split(result, train_val_split, seed)
    return result


def _generated(requests, class_names, cache_dir, num_proc, skip_unreadable, location) -> datasets.Dataset:
    """The probed rows of every split in one Dataset (a `split` column), cached: a second call with the same requests
    and files reads them back without probing."""
    return datasets.Dataset.from_generator(
        _prepared_rows, features=_features(class_names, requests), cache_dir=cache_dir,
        # Tuples, not lists: datasets would give each list element to a generator call of its own (shards), and
        # every problem must be named at once.
        gen_kwargs={"requests": tuple(requests), "stamps": tuple(_stamp(request["source"]) for request in requests),
                    "num_proc": num_proc, "skip_unreadable": skip_unreadable, "location": str(location)})


def _found_column(rows, names: tuple, kind: str, split: str) -> str | None:
    """The first of the usual `names` among a split's columns (None: none of them)."""
    return next((name for name in names if name in rows.column_names), None)


def _class_names(splits, columns: dict, class_names, location) -> tuple:
    """The class names: given, a ClassLabel's, or the sorted label strings; anything else is named."""
    first_split = next(iter(splits))
    feature = splits[first_split].features[columns[first_split][1]]
    if class_names is not None:
        return tuple(class_names)
    if isinstance(feature, datasets.ClassLabel):
        return tuple(feature.names)
    labels = {label for split, rows in splits.items() for label in rows[columns[split][1]]}
    not_names = sorted(repr(label) for label in labels if not isinstance(label, str) or not label.strip())
    if not_names:
        raise OwnVideosError(location, [f"the {columns[first_split][1]} column holds {', '.join(not_names[:5])}: a "
                                        "label is a class name (a string) or a ClassLabel index; give the names "
                                        "(class_names=...) or cast the column to ClassLabel"])
    return tuple(sorted(labels))


def _request(split, index, row, video_column, label_column, class_names, base_dir) -> tuple:
    """({split, index, source, label, start, end}, None) for one row, or (None, the problem)."""
    where = f"{split} row {index}"
    value, label = row[video_column], row[label_column]
    name = None
    if isinstance(value, dict) and value.get("bytes") or isinstance(value, (bytes, bytearray)):
        data = value["bytes"] if isinstance(value, dict) else bytes(value)
        name = (value.get("path") if isinstance(value, dict) else None) or "video"
        source = InMemoryVideo(data, f"{name} ({where})")  # a distinct name: messages and probing go by it
    else:
        path = value.get("path") if isinstance(value, dict) else value
        if not isinstance(path, str) or not path:
            return None, f"{where}: {video_column}={str(value)[:80]!r} is neither a path nor a video's bytes"
        folder = row.get("_list_folder") or base_dir or os.getcwd()
        source = os.path.normpath(os.path.join(folder, os.path.expanduser(path)))
        if not os.path.isfile(source):
            return None, f"{where}: {source}: no such file"
    if isinstance(label, str):
        if label not in class_names:
            return None, f"{where}: label {label!r} is not one of the {len(class_names)} classes"
        label = class_names.index(label)
    elif not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(class_names):
        return None, f"{where}: label {label!r} is not a class index below {len(class_names)} or a class name"
    start, end, problem = _seconds(row.get("start")), _seconds(row.get("end")), None
    if start is False or end is False:
        problem = f"{where}: start={row.get('start')!r}, end={row.get('end')!r}: expected seconds"
    elif start is not None and end is not None and end <= start:
        problem = f"{where}: end={end} is not after start={start}"
    return (None, problem) if problem else ({"split": split, "index": index, "source": source, "name": name,
                                             "label": label, "start": start, "end": end}, None)


def _seconds(value):
    """A start or end time in seconds; None where absent; False where it is not a non-negative number."""
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return False
    return seconds if seconds >= 0 and seconds == seconds else False


def _key(source) -> str:
    """How probing names a source: a path, or an in-memory video's distinct name."""
    return str(source)


def _stamp(source) -> tuple:
    """What says a source is still the file it was: a file's size and times (the builders' cache rule), bytes'
    length (the bytes are hashed with the requests)."""
    if isinstance(source, InMemoryVideo):
        return (len(source.data),)
    status = os.stat(source)
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns


def _features(class_names, requests) -> datasets.Features:
    features = video_features(class_names)
    if any(isinstance(request["source"], InMemoryVideo) for request in requests):
        features["video"] = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}
    if any(request["start"] is not None or request["end"] is not None for request in requests):
        features["start_frame"] = datasets.Value("int32")
        features["end_frame"] = datasets.Value("int32")
    features["split"] = datasets.Value("string")
    return features


def _prepared_rows(requests, stamps, num_proc, skip_unreadable, location):
    """The rows of every split, probed; an error naming every bad video and segment before any row is yielded."""
    kinds = {type(request["source"]) for request in requests}
    if len(kinds) > 1:
        raise OwnVideosError(location, ["some rows hold a video's bytes and others a path: give one or the other"])
    unique = {_key(request["source"]): request["source"] for request in requests}  # a video listed twice: probed once
    metadata, unreadable = probe_videos(list(unique.values()), num_proc)
    problems, rows = [], []
    trims = any(request["start"] is not None or request["end"] is not None for request in requests)
    for request in requests:
        source = request["source"]
        info = metadata.get(_key(source))
        if info is None:
            if not skip_unreadable:
                problems.append(f"{request['split']} row {request['index']}: {unreadable[_key(source)]}")
            continue
        row = row_metadata(info)
        if trims:
            segment = segment_frames(info["packets"], info["num_frames"], info["fps"], info["time_base"],
                                     request["start"], request["end"])
            if segment is None:
                problems.append(f"{request['split']} row {request['index']}: {source}: no frame is shown between "
                                f"start={request['start']} and end={request['end']} (the video lasts "
                                f"{info['num_frames'] / info['fps']:.2f} s)")
                continue
            row["start_frame"], row["end_frame"] = segment
        in_memory = isinstance(source, InMemoryVideo)
        video = {"bytes": source.data, "path": request["name"]} if in_memory else source
        name = os.path.basename(request["name"] if in_memory else source)
        span = f"@{request['start'] or 0:g}-{request['end'] if request['end'] is not None else 'end'}" if trims else ""
        rows.append({**row, "video": video, "video_id": f"{request['split']}/{request['index']}/{name}{span}",
                     "label": request["label"], "split": request["split"]})
    if problems:
        raise OwnVideosError(location, problems)
    if skip_unreadable and unreadable:
        datasets.logging.get_logger(__name__).warning(
            f"{location}: skipped {len(unreadable)} unreadable video(s):\n"
            + "\n".join(f"  - {reason}" for reason in unreadable.values()))
    yield from rows


def stratified_split(splits: datasets.DatasetDict, fraction: float, seed: int) -> datasets.DatasetDict:
    """`splits` with `fraction` of each class's training videos (at least one, where a class has two or more) moved
    to a validation split, drawn with `seed`."""
    if not 0 < fraction < 1:
        raise ValueError(f"train_val_split={fraction!r}: expected a fraction between 0 and 1.")
    train = splits["train"]
    by_class = {}
    for index, label in enumerate(train["label"]):
        by_class.setdefault(label, []).append(index)
    held_out = []
    generator = random.Random(seed)
    for label in sorted(by_class):
        indices = by_class[label]
        count = min(len(indices) - 1, max(1, round(len(indices) * fraction)))
        held_out += generator.sample(indices, count) if count > 0 else []
    held = set(held_out)
    result = dict(splits)
    result["validation"] = train.select(sorted(held))
    result["train"] = train.select([index for index in range(len(train)) if index not in held])
    return datasets.DatasetDict(result)

"""Kinetics-400 as a `datasets` builder: the annotation lists, 400 sorted classes, and per-video metadata; frames are
decoded later.

    dataset = load_kinetics("data/kinetics400")   # DatasetDict with "train", "validation" (and "test")

`data_dir` holds the CVDF layout (https://github.com/cvdfoundation/kinetics-dataset), extracted:

    annotations/train.csv, val.csv, test.csv     "label,youtube_id,time_start,time_end,split" per line
    train/<youtube_id>_<start:06d>_<end:06d>.mp4   (and val/, test/)

or the per-class folders many pipelines use, `train/<label>/<same name>.mp4` (the label as in the list, or with
underscores for spaces). The splits are `train` and `validation` (`val/`, `val.csv`; `validation` and `validate.csv`
also work), and `test` where its list has labels and its folder is there.

Missing videos are normal here: YouTube removals leave several percent of every list without a file. They are left
out, counted per split and listed in one warning; `allow_missing_videos=False` makes them an error. Every other problem
(an unreadable list, a line that does not parse, an unknown label, a video listed twice, a video that does not
decode) is reported in one `KineticsDataError` before anything is written.

Kinetics-600 and -700 lists use the same layout: pass their classes, `class_names=kinetics_class_names(data_dir)`
(the sorted labels of the training list).
"""

import csv
import os
from pathlib import Path

from ..extras import require

require("data", "datasets")

import datasets  # noqa: E402

from .kinetics_labels import KINETICS400_CLASSES  # noqa: E402
from .video_builder import (VideoDataError, VideoDatasetBuilder, VideoDatasetConfig, not_a_file_name,  # noqa: E402
                            some_names)

logger = datasets.logging.get_logger(__name__)

HOMEPAGE = "https://github.com/cvdfoundation/kinetics-dataset"
ANNOTATIONS_FOLDER = "annotations"
# split -> (the names its folder and its list may have, first the CVDF one)
SPLIT_FILES = {"train": ("train",), "validation": ("val", "validation", "validate"), "test": ("test",)}
REQUIRED_SPLITS = ("train", "validation")
COLUMNS = ("label", "youtube_id", "time_start", "time_end")
CITATION = """\
@article{kay2017kinetics,
  title={The Kinetics Human Action Video Dataset},
  author={Kay, Will and Carreira, Joao and Simonyan, Karen and Zhang, Brian and Hillier, Chloe and
          Vijayanarasimhan, Sudheendra and Viola, Fabio and Green, Tim and Back, Trevor and Natsev, Paul and
          Suleyman, Mustafa and Zisserman, Andrew},
  journal={arXiv preprint arXiv:1705.06950},
  year={2017}
}
"""


class KineticsDataError(VideoDataError):
    """The Kinetics files are incomplete or malformed; `problems` lists every one found."""

    dataset = "Kinetics"


class KineticsConfig(VideoDatasetConfig):
    """The official train/validation(/test) lists (see `VideoDatasetConfig` for the options).

    `class_names` are the labels of the lists, in label order: Kinetics-400's 400, sorted, by default. Other classes
    (a subset, or Kinetics-600/700's) may be given; rows of labels outside a subset are left out and counted.
    `allow_missing_videos`: leave out listed videos that have no file (the default: YouTube removals), with a warning
    that counts and lists them; False makes them an error.
    """

    dataset = "Kinetics"
    default_class_names = KINETICS400_CLASSES
    split_numbers = (1,)
    files_read = ((), (ANNOTATIONS_FOLDER, *{name for names in SPLIT_FILES.values() for name in names}))

    def __init__(self, allow_missing_videos: bool = True, **kwargs):
        self.allow_missing_videos = allow_missing_videos
        super().__init__(**kwargs)


class Kinetics(VideoDatasetBuilder):
    """Kinetics-400 (400 human actions, about 240k training clips); one config, `default`."""

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = KineticsConfig
    BUILDER_CONFIGS = [KineticsConfig(name="default", description="The CVDF annotation lists.")]
    DEFAULT_CONFIG_NAME = "default"
    DATA_ERROR, HOMEPAGE, CITATION, DOWNLOAD_URL = KineticsDataError, HOMEPAGE, CITATION, HOMEPAGE
    MANUAL_DOWNLOAD = (f"the videos are not downloaded automatically (hundreds of GB): fetch them with the scripts at "
                       f"{HOMEPAGE}, extract them, and pass their folder as data_dir")

    def read_rows(self, dl_manager) -> tuple[dict, list]:
        return read_kinetics_lists(Path(self.config.data_dir), self.config.class_names,
                                   self.config.allow_missing_videos)


def load_kinetics(data_dir: str, split: int = 1, cache_dir: str | None = None, num_proc: int | None = None,
                  **config_kwargs) -> datasets.DatasetDict:
    """Prepare (once; later calls reuse the cache) and load Kinetics as a DatasetDict (train, validation, and test
    where it is labelled and there). `split`: 1, its one official split."""
    return Kinetics.load(data_dir, split, cache_dir, num_proc, **config_kwargs)


def kinetics_class_names(data_dir: str) -> tuple:
    """The sorted labels of `annotations/train.csv` in `data_dir`: the classes of a Kinetics-600 or -700 copy."""
    problems = []
    list_file = _split_file(Path(data_dir) / ANNOTATIONS_FOLDER, "train", ".csv")
    rows = _read_list(list_file, problems) if list_file else []
    if list_file is None:
        problems.append(f"missing {Path(data_dir) / ANNOTATIONS_FOLDER / 'train.csv'}")
    if problems:
        raise KineticsDataError(data_dir, problems)
    return tuple(sorted({row["label"] for _, row in rows if row.get("label")}))


def _split_file(folder: Path, split: str, suffix: str = "") -> Path | None:
    """The first of the split's names (`SPLIT_FILES`) that exists in `folder`, with `suffix`."""
    return next((folder / f"{name}{suffix}" for name in SPLIT_FILES[split] if (folder / f"{name}{suffix}").exists()),
                None)


def read_kinetics_lists(root: Path, class_names, allow_missing_videos: bool = True) -> tuple[dict, list]:
    """Rows {video, video_id, label} of every split whose list (and folder) is there, and every problem found."""
    if not root.is_dir():
        raise KineticsDataError(root, [f"{root} is not a folder; pass the folder that holds {ANNOTATIONS_FOLDER}/ and "
                                       "train/, val/ (the CVDF layout)."])
    labels = {name: label for label, name in enumerate(class_names)}
    # Given classes other than the default ones select rows; with the default ones, an unknown label is a mistake.
    selecting = tuple(class_names) != KINETICS400_CLASSES
    problems, missing, outside = [], {}, {}
    rows_by_split, listed = {}, {}  # listed: CVDF file name -> where first listed, across splits
    for split in SPLIT_FILES:
        list_file = _split_file(root / ANNOTATIONS_FOLDER, split, ".csv")
        videos_dir = _split_file(root, split)
        if split not in REQUIRED_SPLITS and (list_file is None or videos_dir is None):
            if list_file is not None:
                logger.warning(f"{list_file} is there but no {root / SPLIT_FILES[split][0]}/ folder: the {split} "
                               "split is left out.")
            continue
        if list_file is None or videos_dir is None:
            problems += [f"missing {place}" for place, found in (
                (root / ANNOTATIONS_FOLDER / f"{SPLIT_FILES[split][0]}.csv", list_file),
                (f"{root / SPLIT_FILES[split][0]}/ (the {split} videos)", videos_dir)) if found is None]
            continue
        entries = _read_list(list_file, problems)
        if split == "test" and entries and not any(row.get("label") for _, row in entries):
            logger.info(f"{list_file} has no labels: the test split is left out (nothing to evaluate on).")
            continue
        files, class_folder_of = _video_files(videos_dir)
        rows = rows_by_split[split] = []
        for line_number, row in entries:
            where = f"{list_file}:{line_number}"
            label_name = row.get("label") or ""
            path_problem = not_a_file_name(row["youtube_id"], videos_dir, f"{where}: youtube_id")
            if path_problem:
                problems.append(path_problem)
                continue
            try:
                name = video_file_name(row["youtube_id"], row["time_start"], row["time_end"])
            except ValueError as error:
                problems.append(f"{where}: {error}")
                continue
            if label_name not in labels:
                if selecting and label_name:
                    outside[label_name] = outside.get(label_name, 0) + 1
                else:
                    problems.append(f"{where}: {'unknown label ' + repr(label_name) if label_name else 'no label'} "
                                    f"(not one of the {len(labels)} class_names)")
                continue
            if name in listed:
                problems.append(f"{where}: {name} is listed twice (first at {listed[name]}); a clip belongs to one "
                                "split, or evaluation would measure videos trained on")
                continue
            listed[name] = where
            path = files.get((label_name, name)) or files.get((label_name.replace(" ", "_"), name)) or \
                files.get(("", name))
            if path is None and name in class_folder_of:
                problems.append(f"{where}: {name} is labelled {label_name!r} but lies in the class folder "
                                f"{class_folder_of[name]}")
                continue
            if path is None:
                missing.setdefault(split, []).append(f"{where}: {videos_dir / name}")
                continue
            rows.append({"video": os.path.abspath(path), "video_id": f"{split}/{name[:-len('.mp4')]}",
                         "label": labels[label_name]})
    if missing and not allow_missing_videos:
        problems += [f"{line}: the video is missing (allow_missing_videos=False)" for lines in missing.values()
                     for line in lines]
    elif missing and not problems:
        counts = ", ".join(f"{split}: {len(lines)} of {len(lines) + len(rows_by_split[split])}"
                           for split, lines in missing.items())
        listing = "\n".join(f"  - {line}" for lines in missing.values() for line in lines)
        logger.warning(f"Kinetics at {root}: {sum(map(len, missing.values()))} listed video(s) have no file and are "
                       f"left out ({counts}); removals from YouTube make this normal (allow_missing_videos=False "
                       f"makes it an error):\n{listing}")
    if outside and not problems:
        logger.warning(f"{sum(outside.values())} listed video(s) of {len(outside)} label(s) outside class_names are "
                       f"left out: {some_names(sorted(outside))}")
    return rows_by_split, problems


def video_file_name(youtube_id: str, time_start: str, time_end: str) -> str:
    """`<youtube_id>_<start:06d>_<end:06d>.mp4`, the CVDF name of a list row; ValueError for fields that do not make
    one."""
    seconds = []
    for field, value in (("time_start", time_start), ("time_end", time_end)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not number.is_integer() or number < 0:
            raise ValueError(f"{field} {value!r} is not a whole number of seconds")
        seconds.append(int(number))
    if not youtube_id or "/" in youtube_id or "\\" in youtube_id:
        raise ValueError(f"youtube_id {youtube_id!r} is not a video id")
    return f"{youtube_id}_{seconds[0]:06d}_{seconds[1]:06d}.mp4"


def _read_list(list_file: Path, problems: list) -> list[tuple[int, dict]]:
    """[(line number, {column: value})] of an annotation CSV; problems for a missing column or a short line."""
    try:
        text = list_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{list_file}: cannot be read ({getattr(error, 'strerror', None) or error})")
        return []
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    needed = [column for column in COLUMNS[1:] if column not in (header or [])]
    if header is None or needed:
        problems.append(f"{list_file}:1: the header {','.join(header or [])!r} lacks {needed or list(COLUMNS)}; "
                        f"expected {','.join(COLUMNS)},split")
        return []
    entries = []
    for line_number, fields in enumerate(reader, 2):
        if not fields:
            continue
        if len(fields) != len(header):
            problems.append(f"{list_file}:{line_number}: {','.join(fields)!r} has {len(fields)} fields, the header "
                            f"{len(header)} ({','.join(header)})")
            continue
        entries.append((line_number, dict(zip(header, (field.strip() for field in fields)))))
    return entries


def _video_files(videos_dir: Path) -> tuple[dict, dict]:
    """({(class folder or "", file name): path} of the .mp4 files in `videos_dir` and in its class folders, {file name:
    its class folder}): one listing of the folders instead of a look-up per row."""
    files, by_name = {}, {}
    with os.scandir(videos_dir) as entries:
        for entry in entries:
            if entry.is_dir():
                with os.scandir(entry.path) as class_entries:
                    for inner in class_entries:
                        if inner.name.endswith(".mp4"):
                            files[entry.name, inner.name] = inner.path
                            by_name[inner.name] = entry.path
            elif entry.name.endswith(".mp4"):
                files["", entry.name] = entry.path
    return files, by_name

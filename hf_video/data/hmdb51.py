"""HMDB51 as a `datasets` builder: official splits, labels, and per-video metadata; frames are decoded later.

    builder = Hmdb51(config_name="split1", data_dir="data/hmdb51")
    builder.download_and_prepare(num_proc=2)
    dataset = builder.as_dataset()      # DatasetDict with "train" (tag 1) and "test" (tag 2)

`data_dir` holds either the extracted layout

    videos/<class>/<video>.avi
    annotations/<class>_test_split<k>.txt      lines "<video>.avi <tag>": 1 train, 2 test, 0 unused

or the two official archives `hmdb51_org.rar` (one `<class>.rar` per class inside) and `test_train_splits.rar`,
which are extracted through the datasets download manager (rarfile, which needs an unrar tool on the system).
Without `data_dir` the archives are downloaded from the official site. Rows tagged 0 are left out.

Every problem found (missing folders or split files, unreadable split files, lines that do not parse, split files
naming missing videos, videos that do not decode) is collected and reported in one `Hmdb51DataError` before anything
is written. `skip_unreadable=True` leaves out videos that do not decode instead, and logs how many and which.
Videos whose container promises more frames than decode are listed in a warning (an error with `strict=True`).

Each row records its video's size and modification time, and the cache of a prepared split is keyed on the sizes and
modification times of the files it reads under `data_dir`: a video repaired, replaced or added is picked up by the next
prepare, and the transform refuses a row whose file changed since (`hf_video.clips.clip_transform`).
"""

import os
import re
from pathlib import Path

from ..extras import require

require("data", "datasets")

import datasets  # noqa: E402

from .hmdb51_labels import HMDB51_CLASSES  # noqa: E402
from .video_builder import (VideoDataError, VideoDatasetBuilder, VideoDatasetConfig,  # noqa: E402
                            invisible_characters_note, not_a_file_name, some_names)
from .video_builder import extract_archives as extract_video_archives  # noqa: E402

logger = datasets.logging.get_logger(__name__)

HOMEPAGE = "https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/"
VIDEOS_URL = "http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/hmdb51_org.rar"
SPLITS_URL = "http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar"
VIDEOS_ARCHIVE = "hmdb51_org.rar"
SPLITS_ARCHIVE = "test_train_splits.rar"
SPLIT_BY_TAG = {"1": "train", "2": "test"}  # tag 0: not used by this split
CITATION = """\
@inproceedings{kuehne2011hmdb,
  title={{HMDB}: a large video database for human motion recognition},
  author={Kuehne, Hildegard and Jhuang, Hueihan and Garrote, Est{\\'i}baliz and Poggio, Tomaso and Serre, Thomas},
  booktitle={International Conference on Computer Vision (ICCV)},
  year={2011}
}
"""
_SPLIT_FILE_PATTERN = re.compile(r"^(?P<class_name>.+)_test_split(?P<split>\d+)\.txt$")


class Hmdb51DataError(VideoDataError):
    """The HMDB51 files are incomplete or malformed; `problems` lists every one found."""

    dataset = "HMDB51"


class Hmdb51Config(VideoDatasetConfig):
    """One official train/test split scheme (see `VideoDatasetConfig` for the options).

    `split_number` picks the `<class>_test_split<k>.txt` files; `class_names` are the class folder names, labels their
    indices in this order (sorted, as in torchvision and mmaction2). Another dataset in the same layout passes its own.
    """

    dataset = "HMDB51"
    default_class_names = HMDB51_CLASSES
    files_read = ((VIDEOS_ARCHIVE, SPLITS_ARCHIVE), ("videos", "annotations"))


class Hmdb51(VideoDatasetBuilder):
    """HMDB51 (51 human actions, 6,766 clips); configs `split1` (default), `split2`, `split3`."""

    # 1.1: file_size and file_mtime_ns columns; 1.2: packets; 1.3: rotation, packets.display, MPEG-4 AVI unpacked
    VERSION = datasets.Version("1.3.0")
    BUILDER_CONFIG_CLASS = Hmdb51Config
    BUILDER_CONFIGS = [
        Hmdb51Config(name=f"split{k}", split_number=k, description=f"Official train/test split {k} (70/30 per class).")
        for k in (1, 2, 3)
    ]
    DEFAULT_CONFIG_NAME = "split1"
    DATA_ERROR, HOMEPAGE, CITATION, DOWNLOAD_URL = Hmdb51DataError, HOMEPAGE, CITATION, VIDEOS_URL

    def read_rows(self, dl_manager) -> tuple[dict, list]:
        video_dirs, annotations_dir = locate_hmdb51_files(self.config.data_dir, dl_manager)
        return read_split_files(video_dirs, annotations_dir, self.config.split_number, self.config.class_names)


def load_hmdb51(data_dir: str | None = None, split: int = 1, cache_dir: str | None = None,
                num_proc: int | None = None, **config_kwargs) -> datasets.DatasetDict:
    """Prepare (once; later calls reuse the cache) and load HMDB51 split `split` as a DatasetDict (train, test)."""
    return Hmdb51.load(data_dir, split, cache_dir, num_proc, **config_kwargs)


def locate_hmdb51_files(data_dir: str | None, dl_manager) -> tuple[dict, Path]:
    """({class folder name: folder of its videos}, folder of the split files) from the extracted layout or archives."""
    if data_dir is None:
        videos_archive, splits_archive = dl_manager.download([VIDEOS_URL, SPLITS_URL])
        return _extract_official_archives(videos_archive, splits_archive, dl_manager)
    root = Path(data_dir)
    if not root.is_dir():
        raise Hmdb51DataError(data_dir, [f"{data_dir} is not a folder; pass the folder that holds videos/ and "
                                         f"annotations/ (or {VIDEOS_ARCHIVE} and {SPLITS_ARCHIVE})."])
    videos_dir, annotations_dir = root / "videos", root / "annotations"
    if videos_dir.is_dir() or annotations_dir.is_dir():
        missing = [f"missing folder {folder}/: expected " + expected for folder, expected in (
            (videos_dir, "videos/<class>/<video>.avi"),
            (annotations_dir, "annotations/<class>_test_split<k>.txt"),
        ) if not folder.is_dir()]
        if missing:
            raise Hmdb51DataError(data_dir, missing)
        return {folder.name: folder for folder in videos_dir.iterdir() if folder.is_dir()}, annotations_dir
    videos_archive, splits_archive = root / VIDEOS_ARCHIVE, root / SPLITS_ARCHIVE
    if videos_archive.is_file() or splits_archive.is_file():
        missing = [f"missing archive {archive}" for archive in (videos_archive, splits_archive)
                   if not archive.is_file()]
        if missing:
            raise Hmdb51DataError(data_dir, missing)
        return _extract_official_archives(str(videos_archive), str(splits_archive), dl_manager)
    raise Hmdb51DataError(data_dir, [
        f"{data_dir} holds neither the folders videos/ and annotations/ nor the archives {VIDEOS_ARCHIVE} and "
        f"{SPLITS_ARCHIVE}; see the README for the expected layout."])


def _extract_official_archives(videos_archive: str, splits_archive: str, dl_manager) -> tuple[dict, Path]:
    outer_dir = extract_archives(dl_manager, videos_archive)
    class_archives = sorted(str(path) for path in Path(outer_dir).rglob("*.rar"))
    if not class_archives:
        raise Hmdb51DataError(videos_archive, ["it holds no per-class .rar archives; is it the official file?"])
    video_dirs, problems = {}, []
    for class_archive, class_dir in zip(class_archives, extract_archives(dl_manager, class_archives)):
        folders = [folder for folder in Path(class_dir).iterdir() if folder.is_dir()]
        if len(folders) != 1:
            problems.append(f"{Path(class_archive).name}: expected one class folder inside, found {len(folders)}")
        for folder in folders:
            if folder.name in video_dirs:
                problems.append(f"{Path(class_archive).name}: class folder {folder.name} appears twice")
            video_dirs[folder.name] = folder
    split_files = list(Path(extract_archives(dl_manager, splits_archive)).rglob("*_test_split*.txt"))
    if not split_files:
        problems.append(f"{splits_archive}: holds no <class>_test_split<k>.txt files")
    if problems:
        raise Hmdb51DataError(videos_archive, problems)
    return video_dirs, split_files[0].parent


def extract_archives(dl_manager, archives):
    """`video_builder.extract_archives`, failing with `Hmdb51DataError`."""
    return extract_video_archives(dl_manager, archives, Hmdb51DataError)


def read_split_files(video_dirs: dict, annotations_dir: Path, split_number: int, class_names) -> tuple[dict, list]:
    """Rows {video, video_id, label} per split from the split files, and every problem found with them."""
    split_files = {}
    for path in annotations_dir.iterdir():
        match = _SPLIT_FILE_PATTERN.match(path.name)
        if match and int(match["split"]) == split_number:
            split_files[match["class_name"]] = path
    problems = []
    for class_name in sorted(set(split_files) - set(class_names)):
        problems.append(f"{split_files[class_name]}: unknown class {class_name!r}; the configured class names are "
                        f"{len(class_names)} folder names such as {class_names[0]!r}")
    for class_name in sorted(set(video_dirs) - set(split_files)):
        problems.append(f"class folder {video_dirs[class_name]} has no split file "
                        f"{annotations_dir / f'{class_name}_test_split{split_number}.txt'}")
    rows_by_split = {split_name: [] for split_name in SPLIT_BY_TAG.values()}
    for label, class_name in enumerate(class_names):
        split_file = split_files.get(class_name)
        if split_file is None:
            problems.append(f"missing split file {annotations_dir / f'{class_name}_test_split{split_number}.txt'} "
                            f"for class {class_name!r}")
            continue
        if class_name not in video_dirs:
            problems.append(f"missing video folder for class {class_name!r} (named by {split_file})")
            continue
        try:
            # utf-8-sig: a byte-order mark written by some editors is not part of the first video's name.
            lines = split_file.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        except OSError as error:
            problems.append(f"{split_file}: cannot be read ({error.strerror or error})")
            continue
        listed = set()
        for line_number, line in enumerate(lines, 1):
            fields = line.split()
            if not fields:
                continue
            where = f"{split_file}:{line_number}"
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                problems.append(f"{where}: {line.strip()!r} does not parse; expected '<video>.avi <tag>' with tag "
                                "0 (unused), 1 (train) or 2 (test)")
                continue
            video_name, tag = fields
            outside = not_a_file_name(video_name, video_dirs[class_name], where)
            if outside:
                problems.append(outside)
                continue
            if video_name in listed:
                problems.append(f"{where}: {video_name} is listed twice")
                continue
            listed.add(video_name)
            video_path = video_dirs[class_name] / video_name
            if not video_path.is_file():
                problems.append(f"{where} names {video_name}, but {video_path} does not exist"
                                + invisible_characters_note(video_name))
                continue
            if tag in SPLIT_BY_TAG:
                rows_by_split[SPLIT_BY_TAG[tag]].append({
                    "video": os.path.abspath(video_path), "video_id": f"{class_name}/{video_name}", "label": label})
        unlisted = sorted(path.name for path in video_dirs[class_name].iterdir() if path.name not in listed)
        if unlisted:
            logger.warning(f"{len(unlisted)} file(s) in {video_dirs[class_name]} are not in {split_file} and are "
                           f"left out: {some_names(unlisted)}")
    return rows_by_split, problems

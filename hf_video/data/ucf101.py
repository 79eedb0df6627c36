"""UCF101 as a `datasets` builder, on the same data layer as HMDB51 (`video_builder`): official splits, labels and
per-video metadata; frames are decoded later by the same transform.

    builder = Ucf101(config_name="split1", data_dir="data/ucf101")
    builder.download_and_prepare(num_proc=2)
    dataset = builder.as_dataset()      # DatasetDict with "train" and "test"

`data_dir` holds the videos and the split lists, each either extracted or as its official archive:

    UCF-101/<class>/v_<class>_g<group>_c<clip>.avi     or  UCF101.rar
    ucfTrainTestlist/classInd.txt                      or  UCF101TrainTestSplits-RecognitionTask.zip
    ucfTrainTestlist/trainlist0<k>.txt   lines "<class>/<video>.avi <label>" (label: 1-based, classInd's)
    ucfTrainTestlist/testlist0<k>.txt    lines "<class>/<video>.avi" (the class is the folder)

Without `data_dir` both archives are downloaded from the official site. Facts: 13,320 clips of 101 classes, 320x240
at 25 fps; a video's class is its folder (the file names do not always agree: `HandstandPushups/v_HandStandPushups_*`).
Every problem found is reported in one `Ucf101DataError` before anything is written; `skip_unreadable` and `strict`
work as for HMDB51.
"""

import os
import re
from pathlib import Path

from ..extras import require

require("data", "datasets")

import datasets  # noqa: E402

from .ucf101_labels import UCF101_CLASSES  # noqa: E402
from .video_builder import (VideoDataError, VideoDatasetBuilder, VideoDatasetConfig, extract_archives,  # noqa: E402
                            invisible_characters_note, not_a_file_name, some_names)

logger = datasets.logging.get_logger(__name__)

HOMEPAGE = "https://www.crcv.ucf.edu/data/UCF101.php"
VIDEOS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
LISTS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip"
VIDEOS_ARCHIVE = "UCF101.rar"
LISTS_ARCHIVE = "UCF101TrainTestSplits-RecognitionTask.zip"
VIDEOS_FOLDER = "UCF-101"
LISTS_FOLDER = "ucfTrainTestlist"
CITATION = """\
@article{soomro2012ucf101,
  title={{UCF101}: A Dataset of 101 Human Actions Classes From Videos in The Wild},
  author={Soomro, Khurram and Zamir, Amir Roshan and Shah, Mubarak},
  journal={arXiv preprint arXiv:1212.0402},
  year={2012}
}
"""
_LISTED_VIDEO = re.compile(r"^(?P<class_name>[^/\\]+)[/\\](?P<video>[^/\\]+\.avi)$")


class Ucf101DataError(VideoDataError):
    """The UCF101 files are incomplete or malformed; `problems` lists every one found."""

    dataset = "UCF101"


class Ucf101Config(VideoDatasetConfig):
    """One official train/test split (see `VideoDatasetConfig` for the options).

    `split_number` picks `trainlist0<k>.txt` / `testlist0<k>.txt`; `class_names` are the classes in classInd.txt's
    order (labels are their indices), and the prepare checks classInd.txt against them.
    """

    dataset = "UCF101"
    default_class_names = UCF101_CLASSES
    files_read = ((VIDEOS_ARCHIVE, LISTS_ARCHIVE), (VIDEOS_FOLDER, LISTS_FOLDER))


class Ucf101(VideoDatasetBuilder):
    """UCF101 (101 human actions, 13,320 clips); configs `split1` (default), `split2`, `split3`."""

    VERSION = datasets.Version("1.1.0")  # 1.1: rotation, packets.display, MPEG-4 AVI unpacked
    BUILDER_CONFIG_CLASS = Ucf101Config
    BUILDER_CONFIGS = [
        Ucf101Config(name=f"split{k}", split_number=k, description=f"Official train/test split {k}.")
        for k in (1, 2, 3)
    ]
    DEFAULT_CONFIG_NAME = "split1"
    DATA_ERROR, HOMEPAGE, CITATION, DOWNLOAD_URL = Ucf101DataError, HOMEPAGE, CITATION, VIDEOS_URL

    def read_rows(self, dl_manager) -> tuple[dict, list]:
        videos_dir, lists_dir = locate_ucf101_files(self.config.data_dir, dl_manager)
        return read_ucf101_lists(videos_dir, lists_dir, self.config.split_number, self.config.class_names)


def load_ucf101(data_dir: str | None = None, split: int = 1, cache_dir: str | None = None,
                num_proc: int | None = None, **config_kwargs) -> datasets.DatasetDict:
    """Prepare (once; later calls reuse the cache) and load UCF101 split `split` as a DatasetDict (train, test)."""
    return Ucf101.load(data_dir, split, cache_dir, num_proc, **config_kwargs)


def locate_ucf101_files(data_dir: str | None, dl_manager) -> tuple[Path, Path]:
    """(the folder of the class folders, the folder of the split lists), each extracted or from its archive."""
    if data_dir is None:
        videos_archive, lists_archive = dl_manager.download([VIDEOS_URL, LISTS_URL])
        return (_inside(extract_archives(dl_manager, videos_archive, Ucf101DataError), VIDEOS_FOLDER),
                _inside(extract_archives(dl_manager, lists_archive, Ucf101DataError), LISTS_FOLDER))
    root = Path(data_dir)
    if not root.is_dir():
        raise Ucf101DataError(data_dir, [f"{data_dir} is not a folder; pass the folder that holds {VIDEOS_FOLDER}/ "
                                         f"(or {VIDEOS_ARCHIVE}) and {LISTS_FOLDER}/ (or {LISTS_ARCHIVE})."])
    problems = [f"neither the folder {root / folder}/ nor the archive {root / archive} is there"
                for folder, archive in ((VIDEOS_FOLDER, VIDEOS_ARCHIVE), (LISTS_FOLDER, LISTS_ARCHIVE))
                if not (root / folder).is_dir() and not (root / archive).is_file()]
    if problems:
        raise Ucf101DataError(data_dir, problems)

    def extracted_or_archive(folder: str, archive: str) -> Path:
        if (root / folder).is_dir():
            return root / folder
        return _inside(extract_archives(dl_manager, str(root / archive), Ucf101DataError), folder)

    return (extracted_or_archive(VIDEOS_FOLDER, VIDEOS_ARCHIVE), extracted_or_archive(LISTS_FOLDER, LISTS_ARCHIVE))


def _inside(extracted: str, folder: str) -> Path:
    """The official archives hold one top folder (`UCF-101/`, `ucfTrainTestlist/`)."""
    path = Path(extracted) / folder
    if not path.is_dir():
        raise Ucf101DataError(extracted, [f"the extracted archive holds no {folder}/ folder; is it the official "
                                          "file?"])
    return path


def read_ucf101_lists(videos_dir: Path, lists_dir: Path, split_number: int,
                      class_names) -> tuple[dict, list]:
    """Rows {video, video_id, label} of the train and test splits, and every problem found with the lists."""
    problems = []
    labels = _read_class_index(lists_dir / "classInd.txt", class_names, problems)
    rows_by_split = {"train": [], "test": []}
    listed = set()
    for split_name, list_name, labelled in (("train", f"trainlist0{split_number}.txt", True),
                                            ("test", f"testlist0{split_number}.txt", False)):
        list_file = lists_dir / list_name
        try:
            lines = list_file.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        except FileNotFoundError:
            problems.append(f"missing split list {list_file}")
            continue
        except OSError as error:
            problems.append(f"{list_file}: cannot be read ({error.strerror or error})")
            continue
        for line_number, line in enumerate(lines, 1):
            fields = line.split()
            if not fields:
                continue
            where = f"{list_file}:{line_number}"
            expected = "'<class>/<video>.avi <label>'" if labelled else "'<class>/<video>.avi'"
            match = _LISTED_VIDEO.match(fields[0])
            if match is None or len(fields) != (2 if labelled else 1) or (labelled and not fields[1].isdigit()):
                problems.append(f"{where}: {line.strip()!r} does not parse; expected {expected}")
                continue
            class_name, video_name = match["class_name"], match["video"]
            outside = not_a_file_name(class_name, videos_dir, where) or \
                not_a_file_name(video_name, videos_dir / class_name, where)
            if outside:
                problems.append(outside)
                continue
            if class_name not in labels:
                problems.append(f"{where}: unknown class {class_name!r} (not in classInd.txt)")
                continue
            if labelled and int(fields[1]) - 1 != labels[class_name]:
                problems.append(f"{where}: label {fields[1]} is not that of the video's class folder {class_name} "
                                f"({labels[class_name] + 1} in classInd.txt)")
                continue
            video_id = f"{class_name}/{video_name}"
            if video_id in listed:
                problems.append(f"{where}: {video_id} is listed twice")
                continue
            listed.add(video_id)
            video_path = videos_dir / class_name / video_name
            if not video_path.is_file():
                problems.append(f"{where} names {video_id}, but {video_path} does not exist"
                                + invisible_characters_note(video_name))
                continue
            rows_by_split[split_name].append(
                {"video": os.path.abspath(video_path), "video_id": video_id, "label": labels[class_name]})
    unlisted = sorted(f"{folder.name}/{path.name}" for folder in videos_dir.iterdir() if folder.is_dir()
                      for path in folder.iterdir() if f"{folder.name}/{path.name}" not in listed)
    if unlisted and not problems:
        logger.warning(f"{len(unlisted)} file(s) under {videos_dir} are in neither split list and are left out: "
                       f"{some_names(unlisted)}")
    return rows_by_split, problems


def _read_class_index(path: Path, class_names, problems: list) -> dict:
    """{class name: 0-based label} from classInd.txt ("<1-based index> <name>" per line), checked against
    `class_names`; problems are appended."""
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except FileNotFoundError:
        problems.append(f"missing {path}")
        return {}
    except OSError as error:
        problems.append(f"{path}: cannot be read ({error.strerror or error})")
        return {}
    listed = []
    for line_number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[0] != str(len(listed) + 1):
            problems.append(f"{path}:{line_number}: {line.strip()!r} does not parse; expected "
                            f"'{len(listed) + 1} <class name>' (indices from 1, in order)")
            return {}
        listed.append(fields[1])
    if tuple(listed) != tuple(class_names):
        differing = [f"{index + 1}: {found!r} instead of {wanted!r}" for index, (found, wanted)
                     in enumerate(zip(listed, class_names)) if found != wanted][:5]
        problems.append(f"{path} lists {len(listed)} classes, which are not the {len(class_names)} configured "
                        f"class_names ({'; '.join(differing) or 'different counts'}); pass class_names to match it")
        return {}
    return {name: label for label, name in enumerate(listed)}

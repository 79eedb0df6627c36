"""Something-Something V2 as a `datasets` builder: the official train and validation lists, labels.json's classes,
and per-video metadata; frames are decoded later.

    dataset = load_ssv2("data/ssv2")     # DatasetDict with "train" (168,913) and "validation" (24,777)

`data_dir` holds the videos and the labels, each as downloaded or extracted:

    20bn-something-something-v2/<id>.webm           the videos (VP9), or the numbered parts of their archive,
                                                    20bn-something-something-v2-00, -01, ... (each possibly inside
                                                    its .zip, as served today): one tar.gz cut in pieces
    labels/labels.json                              {template: "index"}, the 174 classes
    labels/train.json, labels/validation.json       [{"id", "label", "template", "placeholders"}, ...]
    labels/test.json                                [{"id"}, ...]: unlabelled, not prepared

The labels may also come as the zip that holds `labels/*.json`, or under the older names
`something-something-v2-{labels,train,validation,test}.json` (in `labels/` or in `data_dir`). The parts are read one
after the other as one stream and extracted once into the datasets cache (into a temporary folder renamed when
complete, so an interrupted extraction is never taken for a finished one).

A row's class is its `template` with the brackets around the placeholders removed, looked up in labels.json; the
label is that class's index in `class_names` (labels.json's order by default). A subset of `class_names` prepares the
rows of those classes only (the others are counted in a warning). Every problem found (unreadable or malformed JSON,
an entry without an id or template, an unknown template, an id listed twice, a missing video, a video that does not
decode) is reported in one `Ssv2DataError` before anything is written.
"""

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

from ..extras import require

require("data", "datasets")

import datasets  # noqa: E402

from ..atomic_folder import atomic_folder, process_alive  # noqa: E402
from .ssv2_labels import SSV2_CLASSES  # noqa: E402
from .video_builder import (VideoDataError, VideoDatasetBuilder, VideoDatasetConfig,  # noqa: E402
                            invisible_characters_note, not_a_file_name, some_names)

logger = datasets.logging.get_logger(__name__)

HOMEPAGE = "https://www.qualcomm.com/developer/software/something-something-v-2-dataset"
VIDEOS_FOLDER = "20bn-something-something-v2"
LABELS_FOLDER = "labels"
LIST_NAMES = ("labels", "train", "validation", "test")  # labels/<name>.json
OLD_LIST_PREFIX = "something-something-v2-"  # older copies: something-something-v2-<name>.json
_PART = re.compile(rf"^{re.escape(VIDEOS_FOLDER)}-(?P<index>\d\d)(?P<zip>\.zip)?$")
CITATION = """\
@inproceedings{goyal2017something,
  title={The "Something Something" Video Database for Learning and Evaluating Visual Common Sense},
  author={Goyal, Raghav and Ebrahimi Kahou, Samira and Michalski, Vincent and Materzynska, Joanna and
          Westphal, Susanne and Kim, Heuna and Haenel, Valentin and Fruend, Ingo and Yianilos, Peter and
          Mueller-Freitag, Moritz and Hoppe, Florian and Thurau, Christian and Bax, Ingo and Memisevic, Roland},
  booktitle={International Conference on Computer Vision (ICCV)},
  year={2017}
}
"""


class Ssv2DataError(VideoDataError):
    """The Something-Something V2 files are incomplete or malformed; `problems` lists every one found."""

    dataset = "Something-Something V2"


class Ssv2Config(VideoDatasetConfig):
    """The official train/validation split (see `VideoDatasetConfig` for the options).

    `class_names` are templates of labels.json (without brackets), in label order: labels.json's 174 in its own order
    by default, or a subset of them.
    """

    dataset = "Something-Something V2"
    default_class_names = SSV2_CLASSES
    split_numbers = (1,)
    files_read = ((), (VIDEOS_FOLDER, LABELS_FOLDER))

    def files_read_in(self, data_dir: str) -> tuple:
        # The parts, the labels zip and older label files lie beside the folders, under names that vary.
        downloaded = sorted(name for name in os.listdir(data_dir)
                            if _PART.match(name) or name.endswith((".zip", ".json")))
        return tuple(downloaded), self.files_read[1]


class Ssv2(VideoDatasetBuilder):
    """Something-Something V2 (174 template classes, 220,847 clips); one config, `default`."""

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = Ssv2Config
    BUILDER_CONFIGS = [Ssv2Config(name="default", description="The official train and validation lists.")]
    DEFAULT_CONFIG_NAME = "default"
    DATA_ERROR, HOMEPAGE, CITATION, DOWNLOAD_URL = Ssv2DataError, HOMEPAGE, CITATION, HOMEPAGE
    MANUAL_DOWNLOAD = ("the videos cannot be downloaded automatically (the site asks you to sign in): download the "
                       f"parts and the labels from {HOMEPAGE} and pass their folder as data_dir")

    def read_rows(self, dl_manager) -> tuple[dict, list]:
        videos_dir, lists = locate_ssv2_files(self.config.data_dir, dl_manager)
        return read_ssv2_lists(videos_dir, lists, self.config.class_names)


def load_ssv2(data_dir: str, split: int = 1, cache_dir: str | None = None, num_proc: int | None = None,
              **config_kwargs) -> datasets.DatasetDict:
    """Prepare (once; later calls reuse the cache) and load Something-Something V2 as a DatasetDict (train,
    validation). `split`: 1, its one official split."""
    return Ssv2.load(data_dir, split, cache_dir, num_proc, **config_kwargs)


def locate_ssv2_files(data_dir: str, dl_manager) -> tuple[Path, dict]:
    """(the folder of the videos, {list name: its JSON text}) from the extracted layout or the downloaded files."""
    root = Path(data_dir)
    if not root.is_dir():
        raise Ssv2DataError(data_dir, [f"{data_dir} is not a folder; pass the folder that holds {VIDEOS_FOLDER}/ (or "
                                       f"the parts {VIDEOS_FOLDER}-00, -01, ...) and {LABELS_FOLDER}/ (or the "
                                       "labels zip)."])
    problems = []
    lists = _read_label_files(root, problems)
    videos_dir = root / VIDEOS_FOLDER
    if not videos_dir.is_dir():
        problems_before = len(problems)
        parts = _archive_parts(root, problems)
        if parts:
            videos_dir = _extract_parts(parts, dl_manager) / VIDEOS_FOLDER
            if not videos_dir.is_dir():
                problems.append(f"the parts {parts[0].name} ... {parts[-1].name} hold no {VIDEOS_FOLDER}/ folder; are "
                                "they the official files?")
        elif len(problems) == problems_before:
            problems.append(f"neither the folder {root / VIDEOS_FOLDER}/ nor the archive parts {VIDEOS_FOLDER}-00, "
                            "-01, ... (or their .zip files) are there")
    if problems:
        raise Ssv2DataError(data_dir, problems)
    return videos_dir, lists


def _read_label_files(root: Path, problems: list) -> dict:
    """{list name: (where, JSON text)} for labels, train and validation (and test, if there), from `labels/`,
    `data_dir` or a zip in `data_dir`, under the current or the older names."""
    def file_names(name):
        return (f"{name}.json", f"{OLD_LIST_PREFIX}{name}.json")

    found = {}  # list name -> (path, zip member or None)
    for name in LIST_NAMES:
        for candidate in (root / LABELS_FOLDER / file_names(name)[0], root / LABELS_FOLDER / file_names(name)[1],
                          root / file_names(name)[1]):
            if candidate.is_file():
                found[name] = (candidate, None)
                break
    for archive in sorted(root.glob("*.zip")):
        if len(found) == len(LIST_NAMES) or _PART.match(archive.name):
            continue
        try:
            with zipfile.ZipFile(archive) as zipped:
                members = {member.rsplit("/", 1)[-1]: member for member in zipped.namelist()}
        except (zipfile.BadZipFile, OSError) as error:
            problems.append(f"{archive}: cannot be read as a zip ({error}); re-download it")
            continue
        for name in LIST_NAMES:
            member = next((members[file_name] for file_name in file_names(name) if file_name in members), None)
            if name not in found and member is not None:
                found[name] = (archive, member)
    texts = {}
    for name in LIST_NAMES:
        if name not in found:
            if name != "test":
                problems.append(f"missing {LABELS_FOLDER}/{name}.json (or {OLD_LIST_PREFIX}{name}.json, or the "
                                "labels zip that holds it)")
            continue
        path, member = found[name]
        where = f"{path}:{member}" if member else str(path)
        try:
            if member is None:
                raw = path.read_bytes()
            else:
                with zipfile.ZipFile(path) as zipped:
                    raw = zipped.read(member)
            texts[name] = (where, raw.decode("utf-8-sig"))
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as error:
            problems.append(f"{where}: cannot be read ({getattr(error, 'strerror', None) or error})")
    return texts


def _archive_parts(root: Path, problems: list) -> list[Path]:
    """The numbered parts of the videos' archive, in order, each a plain part or its .zip; a gap is a problem."""
    parts = {}
    for path in root.iterdir():
        match = _PART.match(path.name)
        if match and path.is_file():
            index = int(match["index"])
            if index in parts and (parts[index].suffix == ".zip") != bool(match["zip"]):
                parts[index] = parts[index] if match["zip"] else path  # the plain part, if both are there
                continue
            parts[index] = path
    missing = sorted(set(range(max(parts) + 1)) - set(parts)) if parts else []
    if missing:
        problems.append(f"the archive parts {', '.join(f'{VIDEOS_FOLDER}-{index:02d}' for index in missing)} are "
                        f"missing: the parts are pieces of one archive, every one from -00 to -{max(parts):02d} is "
                        "needed")
        return []
    return [parts[index] for index in sorted(parts)]


class _ConcatenatedParts(io.RawIOBase):
    """The parts (plain files, or the single file inside each .zip) read one after the other as one stream, which is
    what `cat 20bn-something-something-v2-?? | tar zx` reads."""

    def __init__(self, parts: list[Path]):
        self._parts = list(parts)
        self._current = None
        self._zip = None

    def readable(self):
        return True

    def _open_next(self):
        self._close_current()
        part = self._parts.pop(0)
        if part.suffix == ".zip":
            self._zip = zipfile.ZipFile(part)
            files = [member for member in self._zip.infolist() if not member.is_dir()]
            if len(files) != 1:
                raise Ssv2DataError(part, [f"expected the one archive part inside, found {len(files)} files; is it "
                                           "the official download?"])
            self._current = self._zip.open(files[0])
        else:
            self._current = open(part, "rb")

    def _close_current(self):
        for handle in (self._current, self._zip):
            if handle is not None:
                handle.close()
        self._current = self._zip = None

    def readinto(self, buffer):
        while True:
            if self._current is None:
                if not self._parts:
                    return 0
                self._open_next()
            count = self._current.readinto(buffer)
            if count:
                return count
            self._close_current()

    def close(self):
        self._close_current()
        super().close()


def _extract_parts(parts: list[Path], dl_manager) -> Path:
    """The parts' archive extracted into the datasets cache, once: the folder is keyed on the parts' names, sizes and
    modification times, and only appears (renamed from a temporary one) when the extraction is complete."""
    digest = hashlib.sha256()
    for part in parts:
        status = part.stat()
        digest.update(f"{part.resolve()}\0{status.st_size}\0{status.st_mtime_ns}\0{status.st_ctime_ns}\n".encode())
    cache_dir = dl_manager.download_config.cache_dir
    extract_root = Path(os.path.join(cache_dir, datasets.config.EXTRACTED_DATASETS_DIR) if cache_dir
                        else datasets.config.EXTRACTED_DATASETS_PATH)
    target = extract_root / f"ssv2-videos-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target
    extract_root.mkdir(parents=True, exist_ok=True)
    _remove_stale_incomplete(target)
    logger.info(f"Extracting {len(parts)} archive parts ({parts[0].name} ... {parts[-1].name}) into {target}")
    try:
        # Complete or absent: an error, Ctrl-C or SIGTERM leaves nothing; after SIGKILL the next load removes it.
        with atomic_folder(target) as staging, _ConcatenatedParts(parts) as stream, \
                tarfile.open(fileobj=io.BufferedReader(stream, 2**20), mode="r|gz") as archive:
            archive.extractall(staging, filter="data")
    except Ssv2DataError:  # a zip that does not hold one part: already named
        raise
    except FileExistsError:
        if target.is_dir():  # another process finished the same extraction first
            return target
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise Ssv2DataError(parts[0].parent, [
            f"the archive parts {parts[0].name} ... {parts[-1].name} do not extract as one tar.gz ({error!r}): a part "
            "is damaged or incomplete; re-download it"]) from error
    return target


def _remove_stale_incomplete(target: Path) -> None:
    """Folders `<target>.incomplete-<pid>` that earlier versions left when killed during an extraction, whose
    process is gone (the current extraction's own leftovers are `atomic_folder`'s, removed by it)."""
    for folder in target.parent.glob(f"{target.name}.incomplete-*"):
        pid = folder.name.rpartition("-")[2]
        if pid.isdigit() and not process_alive(int(pid)):
            logger.warning(f"Removing {folder}, left by an extraction that was killed.")
            shutil.rmtree(folder, ignore_errors=True)


def class_name_of_template(template: str) -> str:
    """The class of a list entry: its template with the brackets around the placeholders removed
    ("Putting [something] on a surface" -> "Putting something on a surface")."""
    return template.replace("[", "").replace("]", "")


def read_ssv2_lists(videos_dir: Path, lists: dict, class_names) -> tuple[dict, list]:
    """Rows {video, video_id, label} of the train and validation splits, and every problem found with the lists."""
    problems = []
    labels, templates = _class_labels(*lists["labels"], class_names, problems)
    rows_by_split = {"train": [], "validation": []}
    if labels is None:
        return rows_by_split, problems
    listed, other_classes = set(), {}
    for split_name in rows_by_split:
        where, entries = _json_list(*lists[split_name], problems)
        for position, entry in enumerate(entries):
            entry_where = f"{where}: entry {position}"
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), (str, int)) or \
                    not isinstance(entry.get("template"), str):
                problems.append(f"{entry_where}: {json.dumps(entry)[:200]} lacks an \"id\" and a \"template\"; "
                                "expected {\"id\": \"<video id>\", \"template\": \"...\", ...}")
                continue
            video_id, class_name = str(entry["id"]), class_name_of_template(entry["template"])
            outside = not_a_file_name(video_id, videos_dir, f"{entry_where} (id)")
            if outside:
                problems.append(outside)
                continue
            if class_name not in labels:
                if class_name in templates:
                    other_classes[class_name] = other_classes.get(class_name, 0) + 1
                else:
                    problems.append(f"{entry_where} (id {video_id}): its template {entry['template']!r} is not in "
                                    f"labels.json")
                continue
            if video_id in listed:
                problems.append(f"{entry_where}: video {video_id} is listed twice")
                continue
            listed.add(video_id)
            video_path = videos_dir / f"{video_id}.webm"
            if not video_path.is_file():
                problems.append(f"{entry_where} names video {video_id}, but {video_path} does not exist"
                                + invisible_characters_note(video_id))
                continue
            rows_by_split[split_name].append(
                {"video": os.path.abspath(video_path), "video_id": video_id, "label": labels[class_name]})
    if other_classes and not problems:
        logger.warning(f"{sum(other_classes.values())} listed video(s) of {len(other_classes)} class(es) outside "
                       f"class_names are left out: {some_names(sorted(other_classes))}")
    if "test" in lists:
        _, test_entries = _json_list(*lists["test"], [])
        logger.info(f"{lists['test'][0]} lists {len(test_entries)} unlabelled test videos: they are not prepared "
                    "(no labels to train or evaluate on).")
    return rows_by_split, problems


def _json_list(where: str, text: str, problems: list) -> tuple[str, list]:
    """(where, the entries) of a JSON list file; a file that does not parse is a problem naming its line."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(f"{where}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})")
        return where, []
    if not isinstance(entries, list):
        problems.append(f"{where}: expected a JSON list of {{\"id\", \"template\", ...}} entries, found a "
                        f"{type(entries).__name__}")
        return where, []
    return where, entries


def _class_labels(where: str, text: str, class_names, problems: list) -> tuple[dict | None, set]:
    """({class name: label} for `class_names`, every template of labels.json), checked against labels.json
    ({template: "index"}); (None, ...) after a problem."""
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(f"{where}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})")
        return None, set()
    indices = {}
    if isinstance(mapping, dict):
        for template, index in mapping.items():
            if isinstance(index, (str, int)) and not isinstance(index, bool) and str(index).isdigit():
                indices[class_name_of_template(template)] = int(index)
            else:
                problems.append(f"{where}: {template!r} maps to {index!r}; expected an index such as \"0\"")
    else:
        problems.append(f"{where}: expected a JSON object {{template: \"index\"}}, found a {type(mapping).__name__}")
    if problems:
        return None, set()
    listed = [name for name, _ in sorted(indices.items(), key=lambda item: item[1])]
    if sorted(indices.values()) != list(range(len(indices))):
        problems.append(f"{where}: its indices are not 0 to {len(indices) - 1}, each once")
        return None, set()
    templates = set(listed)
    unknown = [name for name in class_names if name not in templates]
    if unknown:
        problems.append(f"class_names holds {len(unknown)} template(s) that {where} does not: "
                        f"{some_names(unknown)}")
        return None, templates
    if set(class_names) == templates and list(class_names) != listed:
        differing = [f"{index}: {found!r} instead of {wanted!r}" for index, (found, wanted)
                     in enumerate(zip(listed, class_names)) if found != wanted][:3]
        problems.append(f"{where} numbers its classes in another order than class_names ({'; '.join(differing)}); "
                        "the labels are labels.json's: pass class_names in its order")
        return None, templates
    return {name: label for label, name in enumerate(class_names)}, templates

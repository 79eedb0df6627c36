"""What the video datasets builders (`hmdb51`, `ucf101`, `ssv2`, `kinetics`) share: their config and builder base
classes, the row schema, probing the videos, turning the rows of each split into `SplitGenerator`s with every problem
reported at once, archive extraction and the cache key.

A builder finds its files and reads its split lists (its own format, `read_rows`), then hands `{split: rows}` and the
problems it found to `prepared_splits`, which probes every video (frame count by decoding, rate, size, file size and
time, packet list) and applies the options every builder has: `skip_unreadable`, `strict` and `relative_paths`.
"""

import hashlib
import multiprocessing
import os
import tarfile
import unicodedata
import zipfile

from ..extras import require

require("data", "datasets")

import datasets  # noqa: E402

from ..clips.video_io import InMemoryVideo, VideoDecodeError, probe_video  # noqa: E402

logger = datasets.logging.get_logger(__name__)


class VideoDataError(ValueError):
    """A dataset's files are incomplete or malformed; `problems` lists every one found."""

    dataset = "The dataset"

    def __init__(self, location, problems: list[str]):
        self.problems = list(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{self.dataset} at {location}: {len(self.problems)} problem(s), nothing was prepared:\n"
                         f"{listing}")


class VideoDatasetConfig(datasets.BuilderConfig):
    """One official split scheme of a video dataset; a builder's config class sets the class attributes.

    Args:
        split_number: which of the dataset's split schemes (`split_numbers`: 1, 2 or 3 for HMDB51 and UCF101; 1, the
            only one, for Something-Something V2 and Kinetics).
        class_names: the classes, in label order (the dataset's own order by default).
        skip_unreadable: leave out videos that do not decode (logged with their names) instead of failing.
        strict: a video whose container promises more than one frame beyond those that decode (a truncated file)
            is an error instead of a warning.
        relative_paths: rows hold the video's path relative to `data_dir` (the extracted layout), so the prepared
            dataset moves with the folder; read it with `VideoClipTransform(video_root=<the folder>)`.
    """

    dataset = "The dataset"
    default_class_names: tuple = ()
    split_numbers = (1, 2, 3)
    files_read = ((), ())  # (archives, folders) under data_dir: what the cache key fingerprints

    def __init__(self, split_number: int = 1, class_names=None, skip_unreadable: bool = False, strict: bool = False,
                 relative_paths: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.split_number = split_number
        self.class_names = self.default_class_names if class_names is None else class_names
        self.skip_unreadable = skip_unreadable
        self.strict = strict
        self.relative_paths = relative_paths
        self.check()

    def create_config_id(self, config_kwargs: dict, custom_features=None) -> str:
        # The files' sizes and modification times join the cache key: a repaired or replaced video is prepared anew.
        config_id = super().create_config_id(config_kwargs, custom_features)
        data_dir = config_kwargs.get("data_dir")
        if not (data_dir and os.path.isdir(data_dir)):
            return config_id
        return f"{config_id}-{files_fingerprint(data_dir, *self.files_read_in(data_dir))}"

    def files_read_in(self, data_dir: str) -> tuple:
        """(archives, folders) under `data_dir` that the cache key fingerprints: `files_read` unless a dataset's
        downloads have names that vary."""
        return self.files_read

    def check(self):
        # Also called by the builder: datasets sets keyword overrides of a named config with setattr, past __init__.
        if self.split_number not in self.split_numbers:
            raise ValueError(f"split_number={self.split_number!r}: {self.dataset} has "
                             f"{_split_numbers_text(self.split_numbers)}.")
        if isinstance(self.class_names, str):
            raise ValueError(f"class_names={self.class_names!r}: expected a list of class folder names, not one "
                             "string.")
        self.class_names = tuple(self.class_names)
        if len(set(self.class_names)) != len(self.class_names) or not self.class_names:
            raise ValueError(f"class_names={self.class_names!r}: expected distinct class folder names.")


class VideoDatasetBuilder(datasets.GeneratorBasedBuilder):
    """A video dataset builder: a subclass finds its files and reads its split lists in `read_rows`; probing, the
    options and the rows are shared. Its class attributes: `DATA_ERROR`, `HOMEPAGE`, `CITATION`, `DOWNLOAD_URL`,
    `MANUAL_DOWNLOAD`."""

    DATA_ERROR = VideoDataError
    HOMEPAGE = ""
    CITATION = ""
    DOWNLOAD_URL = ""  # named in errors when there is no data_dir
    MANUAL_DOWNLOAD = ""  # where the videos cannot be downloaded for the user: why, and how to get them
    _probe_num_proc = None  # set by download_and_prepare(num_proc=...)

    def _info(self):
        self.config.check()
        return datasets.DatasetInfo(
            description=f"{self.DATA_ERROR.dataset} video paths with labels and probed metadata; decode frames in a "
                        "transform.",
            features=video_features(self.config.class_names),
            homepage=self.HOMEPAGE,
            citation=self.CITATION,
        )

    def download_and_prepare(self, *args, num_proc: int | None = None, **kwargs):
        # Probing the videos is the slow part of preparing and runs in `_split_generators`, which datasets does not
        # hand `num_proc` to; writing the probed rows is quick and gains nothing from datasets' own sharding.
        self._probe_num_proc = num_proc
        return super().download_and_prepare(*args, **kwargs)

    @classmethod
    def load(cls, data_dir: str | None = None, split: int = 1, cache_dir: str | None = None,
             num_proc: int | None = None, **config_kwargs) -> datasets.DatasetDict:
        """Prepare (once; later calls reuse the cache) and load official split scheme `split` as a DatasetDict of
        the dataset's splits (train and test, or train and validation)."""
        split_numbers = cls.BUILDER_CONFIG_CLASS.split_numbers
        if split not in split_numbers:
            raise cls.DATA_ERROR(data_dir, [f"split={split!r}: {cls.DATA_ERROR.dataset} has "
                                            f"{_split_numbers_text(split_numbers)}"])
        config_name = f"split{split}" if len(split_numbers) > 1 else cls.DEFAULT_CONFIG_NAME
        builder = cls(config_name=config_name, data_dir=data_dir, cache_dir=cache_dir, **config_kwargs)
        builder.download_and_prepare(num_proc=num_proc)
        return builder.as_dataset()

    def read_rows(self, dl_manager) -> tuple[dict, list]:
        """({split: [{video, video_id, label}]}, problems) from the dataset's files."""
        raise NotImplementedError

    def _split_generators(self, dl_manager):
        if self.config.data_dir is None and self.MANUAL_DOWNLOAD:
            raise self.DATA_ERROR(self.DOWNLOAD_URL, [self.MANUAL_DOWNLOAD])
        rows_by_split, problems = self.read_rows(dl_manager)
        return prepared_splits(rows_by_split, problems, self.config, self.config.data_dir or self.DOWNLOAD_URL,
                               self._probe_num_proc, self.DATA_ERROR)

    def _generate_examples(self, rows):
        for row in rows:
            yield row["video_id"], row


def _split_numbers_text(split_numbers) -> str:
    if len(split_numbers) == 1:
        return f"one official split scheme (split {split_numbers[0]})"
    return f"splits {', '.join(map(str, split_numbers[:-1]))} and {split_numbers[-1]}"


def video_features(class_names) -> datasets.Features:
    """The columns of a prepared split: the video's path and id, its label, and what probing it found."""
    return datasets.Features({
        "video": datasets.Value("string"),
        "video_id": datasets.Value("string"),
        "label": datasets.ClassLabel(names=list(class_names)),
        "num_frames": datasets.Value("int32"),
        "fps": datasets.Value("float64"),
        "width": datasets.Value("int32"),  # as displayed (after the rotation)
        "height": datasets.Value("int32"),
        "rotation": datasets.Value("int32"),  # degrees the coded frames are turned anticlockwise to be displayed
        "file_size": datasets.Value("int64"),
        "file_mtime_ns": datasets.Value("int64"),
        # The stream's packet list (`video_io.packet_columns`): reads skip their pass over the file.
        "packets": {"pts": datasets.List(datasets.Value("int64")),
                    "dts": datasets.List(datasets.Value("int64")),
                    "keyframe": datasets.List(datasets.Value("bool")),
                    "discard": datasets.List(datasets.Value("bool")),
                    "display": datasets.List(datasets.Value("int64"))},
    })


def prepared_splits(rows_by_split: dict, problems: list, config, location, num_proc: int | None,
                    error_class: type = VideoDataError) -> list:
    """`SplitGenerator`s of the rows ({video, video_id, label}) with their probed metadata, or `error_class` listing
    `problems` and every video that does not decode (`config.skip_unreadable`: those are left out and logged) or, with
    `config.strict`, whose container promises more frames than decode (else a warning). With
    `config.relative_paths`, `video` is relative to `config.data_dir`."""
    name = error_class.dataset
    rows = [row for split_rows in rows_by_split.values() for row in split_rows]
    metadata, unreadable = probe_videos([row["video"] for row in rows], num_proc)
    # An empty split is worth naming by itself (datasets would say it "corresponds to no data"), not as the
    # consequence of problems already listed.
    problems = list(problems) or [f"the {split_name} split has no videos: its split lists name none (an empty or "
                                  "wrong list?)" for split_name, split_rows in rows_by_split.items() if not split_rows]
    if unreadable and config.skip_unreadable:
        skipped = "\n".join(f"  - {reason}" for reason in unreadable.values())
        logger.warning(f"{name} at {location}: skipped {len(unreadable)} unreadable video(s):\n{skipped}")
        problems += [f"no {split_name} video is left after skipping the {len(unreadable)} unreadable one(s) "
                     "listed below" for split_name, split_rows in rows_by_split.items()
                     if split_rows and not any(row["video"] in metadata for row in split_rows)]
        if problems:
            problems += list(unreadable.values())
    else:
        problems += list(unreadable.values())
    truncated = [f"{path}: its container promises {info['container_frames']} frames, but {info['num_frames']} "
                 "decode (a truncated or damaged file?)" for path, info in sorted(metadata.items())
                 if info["container_frames"] > info["num_frames"] + 1]
    if truncated and config.strict:
        problems += truncated
    elif truncated:
        logger.warning(f"{name} at {location}: {len(truncated)} video(s) decode fewer frames than their container "
                       "promises; they are kept with the frames that decode (strict=True refuses them):\n"
                       + "\n".join(f"  - {reason}" for reason in truncated))
    stored_path = {row["video"]: row["video"] for row in rows}
    if config.relative_paths:
        problems += _relative_paths(stored_path, config.data_dir)
    if problems:
        raise error_class(location, problems)
    return [
        datasets.SplitGenerator(
            name=split_name,
            # A tuple, not a list: the rows are ready, there is nothing for datasets to shard across processes.
            gen_kwargs={"rows": tuple({**row, **row_metadata(metadata[row["video"]]),
                                       "video": stored_path[row["video"]]}
                                      for row in split_rows if row["video"] in metadata)},
        )
        for split_name, split_rows in rows_by_split.items()
    ]


def _relative_paths(stored_path: dict, data_dir: str | None) -> list:
    """Map every video's absolute path to its path relative to `data_dir` (in `stored_path`); the problem, if a video
    lies outside it."""
    root = os.path.abspath(data_dir) if data_dir else None
    outside = [path for path in stored_path if root is None or os.path.commonpath([root, path]) != root]
    if outside:
        return [f"relative_paths=True needs the videos extracted under data_dir ({data_dir}); {outside[0]} and "
                f"{len(outside) - 1} more lie elsewhere (extracted from an archive?). Extract the archives into "
                "data_dir, or leave relative_paths off."]
    for path in stored_path:
        stored_path[path] = os.path.relpath(path, root)
    return []


def extract_archives(dl_manager, archives, error_class: type = VideoDataError):
    """`dl_manager.extract` (one path or a list), with RAR failures turned into errors that say what to install."""
    require("data", "rarfile")
    import rarfile

    try:
        return dl_manager.extract(archives)
    except rarfile.RarCannotExec as error:
        raise error_class(archives, [
            f"extracting RAR archives needs an unrar tool ({error}): install one (`apt-get install unar`, or `unrar` "
            "from Debian non-free / RARLAB), then rerun."]) from error
    except (rarfile.Error, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        raise error_class(archives, [
            f"cannot extract ({error!r}): re-download the archive if it is damaged; if it is an intact RAR archive, "
            "the unrar tool found cannot read it (bsdtar fails on many RAR files): install `unar` or `unrar` and "
            "rerun."]) from error


def files_fingerprint(data_dir: str, archives, folders) -> str:
    """A short hash of the path, size, modification time and inode change time of every file a builder reads under
    `data_dir`: the `archives` there and every file in the `folders` (not whatever else is there, such as a cache).
    The change time is there because a file rewritten with its size and modification time restored (`touch -r`,
    `rsync --times`) has a new one, which no user command sets back; a copy or a `chmod` changes it too, and then
    the dataset is prepared again. Plain strings and `os.scandir`: a cached load of Kinetics fingerprints 240k files,
    where pathlib's overhead alone took 10 s."""
    digest = hashlib.sha256()
    for relative, path in _files_read(os.fspath(data_dir), archives, folders):
        try:
            status = os.stat(path)
        except OSError:  # unreadable or vanished: the prepare names it
            continue
        # fsencode: a file name that is not UTF-8 keeps its own bytes.
        digest.update(os.fsencode(relative)
                      + f"\0{status.st_size}\0{status.st_mtime_ns}\0{status.st_ctime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _files_read(root: str, archives, folders):
    """(path relative to `root`, path) of the archives there and of the files in the folders, each folder's files
    (sorted) before its subfolders' (sorted); symbolic links to folders are not followed."""
    for archive in archives:
        if os.path.isfile(os.path.join(root, archive)):
            yield archive, os.path.join(root, archive)
    for folder in folders:
        yield from _folder_files(os.path.join(root, folder), folder)


def _folder_files(directory: str, relative: str):
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:  # absent or unreadable: the prepare names what it needs
        return
    subfolders = []
    for entry in entries:
        if entry.is_dir():
            if not entry.is_symlink():
                subfolders.append(entry)
            continue
        yield f"{relative}/{entry.name}", entry.path
    for entry in subfolders:
        yield from _folder_files(entry.path, f"{relative}/{entry.name}")


def some_names(names: list, shown: int = 5) -> str:
    """The first `shown` of `names` for a message, bytes that are not UTF-8 escaped (a name holding them cannot be
    printed or logged as it is), and "..." if there are more."""
    printable = [os.fsencode(name).decode("utf-8", "backslashreplace") for name in names[:shown]]
    return ", ".join(printable) + (" ..." if len(names) > shown else "")


def not_a_file_name(name: str, folder, where: str) -> str | None:
    """The one rule of every builder for a name a list gives to a file of `folder` (a video id, a file name): a plain
    name, never a path. The problem to report, or None. A path (`../x`, `/etc/x`, `a/b`) could make a row read a
    file outside the dataset's folder, or list one video under two labels."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name or os.path.isabs(name):
        return (f"{where}: {name!r} is not a file name inside {folder}; a list names the files of its own folder, "
                "never a path out of it (fix the list)")
    return None


def invisible_characters_note(name: str) -> str:
    """A hint for a listed name that matches no file because of characters one cannot see."""
    invisible = sorted({f"U+{ord(character):04X}" for character in name
                        if unicodedata.category(character) in ("Cf", "Cc", "Zs", "Zl", "Zp")})
    return f" (the name holds invisible characters {', '.join(invisible)}: remove them)" if invisible else ""


def row_metadata(info: dict) -> dict:
    """A probed video's columns of a prepared row."""
    return {name: value for name, value in info.items() if name not in ("container_frames", "time_base")}


def _probe_one(source):
    """(source, its metadata or None, the reason it is unreadable or None): `source` a path or an InMemoryVideo
    (whose size is its length, and modification time 0)."""
    try:
        in_memory = isinstance(source, InMemoryVideo)
        size, mtime_ns = (len(source.data), 0) if in_memory else (os.stat(source).st_size, os.stat(source).st_mtime_ns)
        info = probe_video(source)
    except VideoDecodeError as error:
        return source, None, f"unreadable video: {error}"
    except OSError as error:
        return source, None, f"unreadable video: {source}: {error.strerror or error}"
    return source, {"num_frames": info.num_frames, "fps": info.fps, "width": info.width, "height": info.height,
                    "rotation": info.rotation, "file_size": size, "file_mtime_ns": mtime_ns, "packets": info.packets,
                    "container_frames": info.container_frames, "time_base": info.time_base}, None


def probe_videos(paths: list, num_proc: int | None = None) -> tuple[dict, dict]:
    """({path: metadata} for videos that decode, {path: reason} for those that do not), probed in `num_proc`
    processes with a progress bar. `InMemoryVideo` values are probed too, keyed by their names (distinct ones)."""
    metadata, unreadable = {}, {}
    progress = datasets.utils.tqdm(total=len(paths), desc="Probing videos", unit=" videos")
    if num_proc and num_proc > 1 and len(paths) > 1:
        with multiprocessing.get_context().Pool(num_proc) as pool:
            results = list(_tracked(pool.imap_unordered(_probe_one, paths, chunksize=16), progress))
    else:
        results = list(_tracked(map(_probe_one, paths), progress))
    progress.close()
    for source, info, reason in results:
        key = str(source) if isinstance(source, InMemoryVideo) else source
        if info is None:
            unreadable[key] = reason
        else:
            metadata[key] = info
    return metadata, {key: unreadable[key] for key in sorted(unreadable)}


def _tracked(results, progress):
    for result in results:
        progress.update(1)
        yield result

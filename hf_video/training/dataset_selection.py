"""Which data a run trains and evaluates on, decided once as a `DatasetKind` (which knows its classes and recipe): a
dataset's folder in the layout `--dataset` names (prepared by its builder), the synthetic motion set, an export
(local or on the Hub, loaded whole or streamed), or your own videos (folders, list files, a Hub dataset). Also the
seeded subsets of `--max_*_samples`."""

import dataclasses
import logging
import os
import random

from ..data import load_export, synthetic_class_names, write_synthetic_motion_dataset
from ..data.dataset_kinds import DATASET_KINDS, DatasetKind, dataset_kind_at, kind_of_classes, own_videos_kind
from ..data.export import is_export
from .command_line import UsageError

logger = logging.getLogger(__name__)

STREAM_SHUFFLE_BUFFER = 1000  # rows; the shards' order is shuffled too


def resolve_dataset(data_dir: str, dataset: str, training_arguments,
                    synthetic_if_missing: str | None = None) -> tuple[str, DatasetKind]:
    """(data folder, the dataset's kind): the layout `dataset` names at `data_dir`, or the synthetic set (found by
    its marker, or written at `synthetic_if_missing` when data_dir is missing, by the main process first)."""
    if not os.path.exists(data_dir) and synthetic_if_missing:
        requested = data_dir
        data_dir = synthetic_if_missing
        with training_arguments.main_process_first(desc="writing the synthetic motion set"):
            if synthetic_class_names(data_dir) is None:
                logger.info(f"Writing the synthetic motion set to {data_dir} (once; later runs reuse it).")
                write_synthetic_motion_dataset(data_dir)
        logger.warning(f"{requested} not found: training on the SYNTHETIC motion set in {data_dir} "
                       f"(time-reversed twin classes), not on {DATASET_KINDS[dataset].name}.")
    if not os.path.isdir(data_dir):
        raise UsageError(f"--data_dir {data_dir}: no such folder. Put {DATASET_KINDS[dataset].name} there (the README "
                         "says how), or pass --synthetic_if_missing FOLDER to train on the synthetic motion set.")
    if is_export(data_dir):
        raise UsageError(f"--data_dir {data_dir} is an export (python -m hf_video.data.export): pass it as "
                         f"--dataset_name {data_dir} (add --streaming to stream it).")
    return data_dir, dataset_kind_at(data_dir, dataset)


def export_splits(location: str, dataset: str, streaming: bool = False) -> tuple[dict, DatasetKind]:
    """({"train": Dataset, or a streamed IterableDataset; the evaluation split ("test", or "validation" for SSv2 and
    Kinetics): Dataset}, the dataset's kind) of the export at `location` (a folder or a Hub dataset id): the kind
    whose classes the export has, else the layout `dataset` names, over the export's classes."""
    if os.path.exists(location) and not is_export(location):
        raise UsageError(f"{location} is not an export (no README.md and data/*.parquet); write one with "
                         "`python -m hf_video.data.export`, or pass a dataset's folder as --data_dir.")
    train = load_export(location, split="train", streaming=streaming)
    labels = tuple(train.features["label"].names)
    kind = kind_of_classes(labels) or DATASET_KINDS[dataset].with_class_names(labels)
    test = load_export(location, split=kind.eval_split)
    return {kind.train_split: train, kind.eval_split: test}, kind


def names_an_export(name: str) -> bool:
    """Whether `--dataset_name` names an export: a local folder holding one, or a path that is not there (loading
    the export names it as missing). Any other folder or file holds your own videos; a Hub id is read as a dataset of
    videos (an export among them too)."""
    if os.path.exists(name):
        return is_export(name)
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep in name.replace("/", "")


def own_video_splits(source: str | None, split_folders: dict, training_arguments, **load_kwargs) -> tuple:
    """({split: Dataset}, the kind) of your own videos (`hf_video.data.load_videos`): a folder, list file or Hub
    dataset (`source`), or `split_folders` ({"train": folder or list, ...}), prepared by the main process first. The
    kind is the known dataset whose classes they have, else one named after the source; results are reported on the
    test split, else on the validation split."""
    from ..data.own_videos import load_videos

    with training_arguments.main_process_first(desc="preparing your videos"):
        splits = load_videos(source, **{f"{split}_dir": path for split, path in split_folders.items()},
                             **load_kwargs)
    if "train" not in splits:
        raise UsageError(f"{source or split_folders}: no train split (give --train_dir, or a train folder or list).")
    eval_split = next((name for name in ("test", "validation") if name in splits), None)
    if eval_split is None:
        raise UsageError(f"{source or split_folders}: nothing to evaluate on: give --validation_dir or --test_dir, or "
                         "hold out part of the training videos with --train_val_split 0.15.")
    labels = tuple(splits["train"].features["label"].names)
    name = source if source and not os.path.exists(source) else os.path.basename(
        os.path.normpath(source or split_folders["train"]))
    kind = kind_of_classes(labels) or own_videos_kind(name, labels, eval_split)
    return dict(splits), dataclasses.replace(kind, eval_split=eval_split)


def stream_by_process(training_arguments):
    """Every process reads its own shards of the stream (accelerate splits a datasets IterableDataset by shards,
    as `split_dataset_by_node` does), instead of the first process reading all and dispatching batches."""
    if training_arguments.max_steps <= 0:
        raise UsageError("--streaming needs --max_steps: a stream has no length to count epochs by.")
    training_arguments.accelerator_config.dispatch_batches = False
    return training_arguments


def sample_rows(dataset, count: int | None, seed: int):
    """A random subset of `count` rows drawn with `seed`, in the dataset's order (all rows if None or more): the
    rows are sorted by class, so the first ones would be a few classes."""
    if count is None or count >= len(dataset):
        return dataset
    return dataset.select(sorted(random.Random(seed).sample(range(len(dataset)), count)))

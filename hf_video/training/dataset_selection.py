"""Which data a run trains and evaluates on, decided once as a `DatasetKind` (which knows its classes and recipe): a
dataset's folder in the layout `--dataset` names (prepared by its builder), the synthetic motion set, or an export
(local or on the Hub, loaded whole or streamed). Also the seeded subsets of `--max_*_samples`."""

import logging
import os
import random

from ..data import load_export, synthetic_class_names, write_synthetic_motion_dataset
from ..data.dataset_kinds import DATASET_KINDS, DatasetKind, dataset_kind_at, kind_of_classes
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

"""Which dataset a run uses, decided once and carried as a value: its kind knows its name for people, its id for
model cards, its classes, how to prepare it from a folder and the recipe's defaults for it. Nothing compares display
strings: a run resolves its `DatasetKind` (from `--dataset`, a synthetic folder's marker, or an export's classes) and
asks it.

    kind = DATASET_KINDS["ucf101"]
    kind.load("data/ucf101", split=1)       # the builder of its layout
    kind.flip_probability                   # 0.5: the recipe mirrors training clips
"""

import dataclasses
import importlib
from dataclasses import dataclass

from ..clips.clip_settings import RECIPE
from .hmdb51_labels import HMDB51_CLASSES
from .synthetic import SYNTHETIC_CLASSES, synthetic_class_names
from .ucf101_labels import UCF101_CLASSES


@dataclass(frozen=True)
class DatasetKind:
    key: str  # the id model cards name (`datasets:` in their metadata)
    name: str  # for people: logs, summaries, cards
    class_names: tuple
    loader: str  # "<module of hf_video.data>.<function>": prepares the layout from a folder (imported when used)
    # The chance of mirroring a training clip: the recipe's, except where a mirror changes the class (the synthetic
    # set's left/right and clockwise/anticlockwise twins).
    flip_probability: float
    facts: str | None = None  # the module of hf_video.data with its HOMEPAGE and CITATION, for cards
    license: str = "other"  # of the videos, for a dataset card ("other": the dataset's own terms, at its homepage)

    def load(self, data_dir, **kwargs):
        """The prepared splits of `data_dir` (a DatasetDict), with this kind's classes unless given."""
        module, function = self.loader.rsplit(".", 1)
        load = getattr(importlib.import_module(f".{module}", __package__), function)
        return load(data_dir, **{"class_names": self.class_names, **kwargs})

    def homepage_and_citation(self) -> tuple[str, str]:
        """For a dataset card: where the dataset lives, and how to cite it ("" for our own synthetic set)."""
        if self.facts is None:
            return "", ""
        module = importlib.import_module(f".{self.facts}", __package__)
        return module.HOMEPAGE, module.CITATION

    def with_class_names(self, class_names) -> "DatasetKind":
        """The same kind over a subset or other order of classes (a custom `class_names`)."""
        return dataclasses.replace(self, class_names=tuple(class_names))


HMDB51 = DatasetKind("hmdb51", "HMDB51", HMDB51_CLASSES, "hmdb51.load_hmdb51", RECIPE.flip_probability, "hmdb51")
UCF101 = DatasetKind("ucf101", "UCF101", UCF101_CLASSES, "ucf101.load_ucf101", RECIPE.flip_probability, "ucf101")
# HMDB51's layout, written by `write_synthetic_motion_dataset`: our own videos, under the project's licence.
SYNTHETIC_MOTION = DatasetKind("synthetic-motion", "the synthetic motion set (time-reversed twins)", SYNTHETIC_CLASSES,
                               "hmdb51.load_hmdb51", 0.0, license="apache-2.0")
DATASET_KINDS = {kind.key: kind for kind in (HMDB51, UCF101, SYNTHETIC_MOTION)}


def dataset_kind_at(data_dir, key: str) -> DatasetKind:
    """The kind of the dataset in `data_dir`: the synthetic set where its marker file is, else the layout `key`
    names ("hmdb51", "ucf101")."""
    synthetic = synthetic_class_names(data_dir)
    if synthetic is not None:
        return SYNTHETIC_MOTION.with_class_names(synthetic)
    return DATASET_KINDS[key]


def kind_of_classes(class_names) -> DatasetKind | None:
    """The kind whose classes are exactly `class_names` (in its order), if any: what an export is."""
    return next((kind for kind in DATASET_KINDS.values() if kind.class_names == tuple(class_names)), None)

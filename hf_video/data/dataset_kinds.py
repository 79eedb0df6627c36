"""Which dataset a run uses, decided once and carried as a value: its kind knows its name for people, its id for
model cards, its classes, how to prepare it from a folder and the recipe's defaults for it. Nothing compares display
strings: a run resolves its `DatasetKind` (from `--dataset`, a synthetic folder's marker, or an export's classes) and
asks it.

    kind = DATASET_KINDS["ucf101"]
    kind.load("data/ucf101", split=1)       # the builder of its layout
    kind.training_flip()                    # (0.5, None): the recipe mirrors training clips, no label changes
    SSV2.training_flip()                    # (0.5, {86: 87, 87: 86, ...}): mirrors swap the left/right classes
"""

import dataclasses
import importlib
import logging
from dataclasses import dataclass

from ..clips.clip_settings import RECIPE
from .hmdb51_labels import HMDB51_CLASSES
from .kinetics_labels import KINETICS400_CLASSES
from .mirrored_classes import mirrored_labels, unpaired_mirrored_classes
from .ssv2_labels import SSV2_CLASSES
from .synthetic import SYNTHETIC_CLASSES, synthetic_class_names
from .ucf101_labels import UCF101_CLASSES

logger = logging.getLogger(__name__)


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
    # A mirror turns some classes into others (SSv2's left/right templates): a flipped clip takes its mirror class's
    # label, and where the pairs cannot be derived from the class names, training clips are not flipped.
    mirror_swaps_labels: bool = False
    sample_mode: str | None = None  # the recipe's sampling on this dataset (None: the checkpoint's, else the recipe's)
    eval_views: tuple = (3, 3)  # (temporal, spatial) views of the final evaluation, as the authors evaluate
    train_split: str = "train"
    eval_split: str = "test"  # the labelled split results are reported on

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

    def training_flip(self, requested: float | None = None) -> tuple[float, dict | None]:
        """(chance of mirroring a training clip, {label: label of its mirror image} or None): `requested` (None: this
        kind's default) and, where a mirror swaps classes, the pairs derived from the class names. Where they cannot
        be derived, the default is no flipping (with a warning), and a requested flip is a ValueError: its labels
        would lie."""
        probability = self.flip_probability if requested is None else requested
        if not self.mirror_swaps_labels or probability == 0:
            return probability, None
        pairs, unpaired = mirrored_labels(self.class_names), unpaired_mirrored_classes(self.class_names)
        if pairs and not unpaired:
            return probability, pairs
        reason = (f"the mirror classes of {unpaired} are not among the {len(self.class_names)} classes" if unpaired
                  else "no left/right class pairs can be derived from the class names")
        if requested is not None:
            raise ValueError(f"flip_probability={requested}: on {self.name} a mirrored clip changes class, and "
                             f"{reason}: its label would be wrong. Train without flipping (0), or keep both classes "
                             "of each pair.")
        logger.warning(f"Training clips of {self.name} are not flipped: {reason}.")
        return 0.0, None

    def with_class_names(self, class_names) -> "DatasetKind":
        """The same kind over a subset or other order of classes (a custom `class_names`)."""
        return dataclasses.replace(self, class_names=tuple(class_names))


HMDB51 = DatasetKind("hmdb51", "HMDB51", HMDB51_CLASSES, "hmdb51.load_hmdb51", RECIPE.flip_probability, "hmdb51")
UCF101 = DatasetKind("ucf101", "UCF101", UCF101_CLASSES, "ucf101.load_ucf101", RECIPE.flip_probability, "ucf101")
# HMDB51's layout, written by `write_synthetic_motion_dataset`: our own videos, under the project's licence.
SYNTHETIC_MOTION = DatasetKind("synthetic-motion", "the synthetic motion set (time-reversed twins)", SYNTHETIC_CLASSES,
                               "hmdb51.load_hmdb51", 0.0, license="apache-2.0")
# The authors' SSv2 recipe: segment sampling, flips that swap the left/right pairs, 2 temporal x 3 spatial views.
SSV2 = DatasetKind("ssv2", "Something-Something V2", SSV2_CLASSES, "ssv2.load_ssv2",
                   RECIPE.flip_probability, "ssv2", mirror_swaps_labels=True, sample_mode="segment", eval_views=(2, 3),
                   eval_split="validation")
# Kinetics-400 as the authors evaluate it: 10 temporal x 3 spatial views of the validation videos.
KINETICS400 = DatasetKind("kinetics400", "Kinetics-400", KINETICS400_CLASSES, "kinetics.load_kinetics",
                          RECIPE.flip_probability, "kinetics", eval_views=(10, 3), eval_split="validation")
DATASET_KINDS = {kind.key: kind for kind in (HMDB51, UCF101, SSV2, KINETICS400, SYNTHETIC_MOTION)}


def own_videos_kind(name: str, class_names, eval_split: str = "test") -> DatasetKind:
    """Your own videos as a kind (`own_videos.load_videos`): the recipe's settings, `name` for people and cards (a
    folder's name or a Hub id)."""
    return DatasetKind(name, name, tuple(class_names), "own_videos.load_videos", RECIPE.flip_probability,
                       eval_split=eval_split)


def dataset_kind_at(data_dir, key: str) -> DatasetKind:
    """The kind of the dataset in `data_dir`: the synthetic set where its marker file is, else the layout `key`
    names ("hmdb51", "ucf101", "ssv2", "kinetics400")."""
    synthetic = synthetic_class_names(data_dir)
    if synthetic is not None:
        return SYNTHETIC_MOTION.with_class_names(synthetic)
    return DATASET_KINDS[key]


def kind_of_classes(class_names) -> DatasetKind | None:
    """The kind whose classes are exactly `class_names` (in its order), if any: what an export is."""
    return next((kind for kind in DATASET_KINDS.values() if kind.class_names == tuple(class_names)), None)

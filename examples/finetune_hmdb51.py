#!/usr/bin/env python
"""Fine-tune a TAda model (TAda ResNet3D, TAdaConvNeXtV2, TAdaFormer) on HMDB51 (or UCF101, Something-Something V2 or
Kinetics-400 with `--dataset ucf101|ssv2|kinetics400`, or the synthetic motion set) with the transformers Trainer.

The same command runs on CPU, one GPU, several GPUs and several machines:

    python examples/finetune_hmdb51.py --data_dir data/hmdb51 --model_name_or_path CHECKPOINT
    accelerate launch examples/finetune_hmdb51.py ...                    (see examples/accelerate_configs/)
    torchrun --nproc_per_node 8 examples/finetune_hmdb51.py ...

Defaults follow the original recipe (EssentialMC2's HMDB51 fine-tune): SGD lr 0.001 weight decay 0.001, a cosine
schedule to 0 over 100 epochs, 16 frames every 4th at 30 fps, 112x112 crops, logging every 10 steps, evaluation and
a checkpoint every epoch, TensorBoard logs. A checkpoint's own video processor gives the clip settings it was
trained with (frames, sampling, size, mean and std) unless options say otherwise. Each dataset brings the authors'
settings for it: on Something-Something V2, segment sampling, flips that swap the left/right classes' labels and 2 x 3
evaluation views; on Kinetics-400, 10 x 3 views. After training, every test (or validation) video is evaluated on
`eval_temporal_crops x eval_spatial_crops` views; clip- and video-level accuracy go to all_results.json.
`--help` lists every option.
"""

import dataclasses
import json
import logging
import math
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import transformers
from datasets import concatenate_datasets
from transformers import AutoConfig, AutoModelForVideoClassification, HfArgumentParser, set_seed

from hf_video import (TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor, inflate_clip,
                      inflate_convnext_2d, inflate_resnet_2d)
from hf_video.cards import family_of
from hf_video.clips import RECIPE, ClipSettings, DeviceAugmentation, VideoClipTransform, collate_clips
from hf_video.data import load_export, synthetic_class_names, write_synthetic_motion_dataset
from hf_video.data.dataset_kinds import DATASET_KINDS, DatasetKind, dataset_kind_at, kind_of_classes
from hf_video.data.export import ExportError, is_export
from hf_video.data.video_builder import VideoDataError
from hf_video.models.tadaformer.inflate_tadaformer_from_clip import CLIP_MEAN, CLIP_MODEL_TYPES, CLIP_STD
from hf_video.training import (StopOnTermination, VideoTrainer, VideoTrainingArguments, clip_accuracy,
                               disk_full_error, evaluate_multi_view, finetuned_model_card,
                               parse_learning_rate_multipliers, resolve_resume, stop_with_launcher)

logger = logging.getLogger("finetune_hmdb51")


class UsageError(SystemExit):
    """A mistake in the options or the data: ends the run with one line that says what to do, no traceback."""


# Errors that come from what the user gave (data, exports), not from a fault of ours: their message is the report.
USER_MISTAKES = (VideoDataError, ExportError)


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(default=None, metadata={"help": (
        "A TAda checkpoint (TAda ResNet, TAdaConvNeXtV2 or TAdaFormer; folder or Hub id) to fine-tune; or a 2D "
        "network to inflate: a ResNet (a transformers ResNet folder / Hub id such as microsoft/resnet-50, or a "
        "torchvision ResNet-50/101/152 state dict .pth) into TAda ResNet, a ConvNeXt (a transformers ConvNeXt such "
        "as facebook/convnext-tiny-224, or a timm ConvNeXt state dict .pth / .safetensors) into TAdaConvNeXtV2, a "
        "transformers CLIP (such as openai/clip-vit-base-patch16; CLIP's mean and std by default) into TAdaFormer; "
        "or a "
        "TAda config (config.json, or a folder holding only one) to start from scratch; or nothing, to start from "
        "scratch with the architecture options below.")})
    depth: Literal[18, 34, 50, 101, 152] = field(default=50, metadata={
        "help": "From scratch: 18, 34 (our basic-block variant), 50, 101, 152."})
    stem_width: int = field(default=64, metadata={"help": "From scratch: channels of the stem convolution."})
    hidden_sizes: str | None = field(default=None, metadata={
        "help": "From scratch: comma-separated output widths of the four stages (default: the ResNet widths)."})
    temporal_adaptive: bool | None = field(default=None, metadata={"help": (
        "From scratch (options or a config): TAda convolutions (default); False gives the same network frame by "
        "frame (a 2D baseline).")})
    classifier_dropout: float = field(default=0.5, metadata={"help": "Dropout before the classifier (recipe: 0.5)."})
    sync_batch_norm: bool = field(default=False, metadata={
        "help": "Convert BatchNorm to SyncBatchNorm when training on several GPUs (ignored on CPU or one process)."})
    model_revision: str = field(default="main", metadata={
        "help": "The Hub revision (branch, tag or commit) of --model_name_or_path."})
    token: str | None = field(default=None, metadata={
        "help": "A Hugging Face token for private or gated models (default: the one `hf auth login` stored)."})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "Allow a model from the Hub to run its own code (only for repositories you trust)."})

    def hub_kwargs(self) -> dict:
        """What from_pretrained needs to find the model on the Hub."""
        return dict(revision=self.model_revision, token=self.token, trust_remote_code=self.trust_remote_code)

    def stage_widths(self) -> list | None:
        """--hidden_sizes as four positive widths (None: the ResNet widths)."""
        if self.hidden_sizes is None:
            return None
        widths = [width.strip() for width in self.hidden_sizes.split(",")]
        if len(widths) != 4 or not all(width.isdigit() and int(width) > 0 for width in widths):
            raise UsageError(f"--hidden_sizes {self.hidden_sizes}: expected four positive widths separated by commas, "
                             "such as 64,128,256,512.")
        return [int(width) for width in widths]


@dataclass
class DataArguments:
    dataset: Literal["hmdb51", "ucf101", "ssv2", "kinetics400"] = field(default="hmdb51", metadata={
        "help": "hmdb51, ucf101, ssv2 (Something-Something V2) or kinetics400: the layout of data_dir, and the "
                "dataset's own recipe settings (sampling, flip, evaluation views, evaluation split)."})
    data_dir: str = field(default="data/hmdb51", metadata={"help": (
        "HMDB51 (extracted videos/ + annotations/, or the two official .rar archives), UCF101 (UCF-101/ or "
        "UCF101.rar, ucfTrainTestlist/ or the official split zip), Something-Something V2 "
        "(20bn-something-something-v2/ or its archive parts, labels/ or the labels zip), Kinetics (annotations/ + "
        "train/ val/, the CVDF layout), or a synthetic set.")})
    synthetic_if_missing: str | None = field(default=None, metadata={"help": (
        "If data_dir does not exist, use (and first write, if absent) the synthetic motion set in this folder.")})
    split: Literal[1, 2, 3] = field(default=1, metadata={
        "help": "Official split 1, 2 or 3 (HMDB51, UCF101; SSv2 and Kinetics have one)."})
    # The clip settings below default to the checkpoint's video processor's, then to the recipe's.
    num_frames: int | None = field(default=None, metadata={"help": f"Frames per clip (recipe: {RECIPE.num_frames})."})
    sample_interval: int | None = field(default=None, metadata={
        "help": f"Take every n-th frame (at target_fps; recipe: {RECIPE.sample_interval})."})
    target_fps: float | None = field(default=None, metadata={
        "help": f"Frame rate the interval refers to (recipe: {RECIPE.target_fps})."})
    sample_mode: Literal["interval", "segment"] | None = field(default=None, metadata={
        "help": "interval (the recipe's) or segment (TSN; the default on SSv2, as the authors sample it)."})
    image_size: int | None = field(default=None, metadata={
        "help": f"Side of the square crops given to the model (recipe: {RECIPE.image_size})."})
    image_mean: list[float] | None = field(default=None, metadata={
        "help": f"Per-channel mean the pixels are normalised with (recipe: {' '.join(map(str, RECIPE.mean))})."})
    image_std: list[float] | None = field(default=None, metadata={
        "help": f"Per-channel std the pixels are normalised with (recipe: {' '.join(map(str, RECIPE.std))})."})
    flip_probability: float | None = field(default=None, metadata={"help": (
        f"Chance of mirroring a training clip: {RECIPE.flip_probability} (the recipe's) on HMDB51, UCF101, Kinetics "
        "and SSv2 (where a mirrored clip of a left/right class takes its mirror class's label; without both classes "
        "of each pair, SSv2 clips are not flipped), 0 on the synthetic set, whose twins a mirror would swap "
        "(left/right, clockwise/anticlockwise).")})
    video_backend: Literal["pyav", "decord"] = field(default="pyav", metadata={
        "help": "pyav (default, faster) or decord."})
    dataset_name: str | None = field(default=None, metadata={"help": (
        "An export (python -m hf_video.data.export) to train on instead of data_dir: a local folder or its copy on "
        "the Hub (a dataset repo id). Loaded whole and decoded through set_transform; with --streaming, streamed.")})
    streaming: bool = field(default=False, metadata={"help": (
        "Stream the training split of the export (--dataset_name, or data_dir given as one) from its "
        "parquet shards, each process reading its own shards (needs --max_steps); the test split is loaded whole.")})
    augment_on_device: bool = field(default=False, metadata={"help": (
        "Loader processes only decode and cut the crop box (uint8); resize, normalisation and flip run batched on the "
        "training device. Same pixels; frees the loaders on a GPU machine.")})
    num_folds: int = field(default=1, metadata={"help": "Repeat the training set n times per epoch (recipe option)."})
    eval_temporal_crops: int | None = field(default=None, metadata={"help": (
        "Final evaluation: clips per video along time (default: the authors' for the dataset: 3 on HMDB51 and UCF101, "
        "2 on SSv2, 10 on Kinetics).")})
    eval_spatial_crops: Literal[1, 3] | None = field(default=None, metadata={
        "help": "Final evaluation: 1 (centre) or 3 (left/centre/right; the default)."})
    prepare_num_proc: int | None = field(default=None, metadata={"help": "Processes probing videos at prepare."})
    dataset_cache_dir: str | None = field(default=None, metadata={"help": "datasets cache (default HF's)."})
    skip_unreadable: bool = field(default=False, metadata={"help": "Leave out videos that do not decode."})
    max_train_samples: int | None = field(default=None, metadata={"help": (
        "Train on n training videos only (quick runs, debugging): a random subset drawn with --seed (the rows are "
        "sorted by class, so the first n would be a few classes).")})
    max_eval_samples: int | None = field(default=None, metadata={"help": (
        "Evaluate (every epoch, and at the end) on n test videos only: a random subset drawn with --seed.")})


def resolve_dataset(data_arguments: DataArguments, training_arguments) -> tuple[str, DatasetKind]:
    """(data folder, the dataset's kind): the layout `--dataset` names at data_dir, or the synthetic set (found by
    its marker, or written where --synthetic_if_missing says when data_dir is missing)."""
    data_dir = data_arguments.data_dir
    if not os.path.exists(data_dir) and data_arguments.synthetic_if_missing:
        data_dir = data_arguments.synthetic_if_missing
        with training_arguments.main_process_first(desc="writing the synthetic motion set"):
            if synthetic_class_names(data_dir) is None:
                logger.info(f"Writing the synthetic motion set to {data_dir} (once; later runs reuse it).")
                write_synthetic_motion_dataset(data_dir)
        logger.warning(f"{data_arguments.data_dir} not found: training on the SYNTHETIC motion set in {data_dir} "
                       f"(time-reversed twin classes), not on {DATASET_KINDS[data_arguments.dataset].name}.")
    if not os.path.isdir(data_dir):
        kind = DATASET_KINDS[data_arguments.dataset]
        raise UsageError(f"--data_dir {data_dir}: no such folder. Put {kind.name} there (the README says how), "
                         "or pass --synthetic_if_missing FOLDER to train on the synthetic motion set.")
    if is_export(data_dir):
        raise UsageError(f"--data_dir {data_dir} is an export (python -m hf_video.data.export): pass it as "
                         f"--dataset_name {data_dir} (add --streaming to stream it).")
    return data_dir, dataset_kind_at(data_dir, data_arguments.dataset)


STREAM_SHUFFLE_BUFFER = 1000  # rows; the shards' order is shuffled too


def export_splits(data_arguments: DataArguments) -> tuple[dict, DatasetKind]:
    """({"train": Dataset, or a streamed IterableDataset with --streaming; the evaluation split ("test", or
    "validation" for SSv2 and Kinetics): Dataset}, the dataset's kind) of an
    export (--dataset_name, or data_dir with --streaming): the kind whose classes the export has, else the layout
    `--dataset` names, over the export's classes."""
    location = data_arguments.dataset_name or data_arguments.data_dir
    problems = [f"--{name} {value} does not apply to --streaming" for name, value in (
        ("num_folds", data_arguments.num_folds), ("synthetic_if_missing", data_arguments.synthetic_if_missing))
        if data_arguments.streaming and value not in (1, None)]
    if problems:
        raise UsageError("; ".join(problems) + ".")
    if os.path.exists(location) and not is_export(location):
        raise UsageError(f"{location} is not an export (no README.md and data/*.parquet); write one with "
                         "`python -m hf_video.data.export`, or pass a dataset's folder as --data_dir.")
    train = load_export(location, split="train", streaming=data_arguments.streaming)
    labels = tuple(train.features["label"].names)
    kind = kind_of_classes(labels) or DATASET_KINDS[data_arguments.dataset].with_class_names(labels)
    test = load_export(location, split=kind.eval_split)
    return {kind.train_split: train, kind.eval_split: test}, kind


def stream_by_process(training_arguments):
    """Every process reads its own shards of the stream (accelerate splits a datasets IterableDataset by shards,
    as `split_dataset_by_node` does), instead of the first process reading all and dispatching batches."""
    if training_arguments.max_steps <= 0:
        raise SystemExit("--streaming needs --max_steps: a stream has no length to count epochs by.")
    training_arguments.accelerator_config.dispatch_batches = False
    return training_arguments


def load_splits(data_dir: str, kind: DatasetKind, data_arguments: DataArguments):
    """The train and test splits, prepared by the builder of the dataset's layout."""
    return kind.load(data_dir, split=data_arguments.split, cache_dir=data_arguments.dataset_cache_dir,
                     num_proc=data_arguments.prepare_num_proc, skip_unreadable=data_arguments.skip_unreadable)


def build_model(model_arguments: ModelArguments, data_arguments: DataArguments, labels: tuple):
    """(model, base model name or None) for the options: a TAda checkpoint, an inflated 2D network, or from
    scratch."""
    label_kwargs = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                        label2id={name: index for index, name in enumerate(labels)})
    clip_kwargs = dict(num_frames=data_arguments.num_frames, image_size=data_arguments.image_size)
    source = model_arguments.model_name_or_path
    if source is None:
        config = TadaResNetConfig(depth=model_arguments.depth, stem_width=model_arguments.stem_width,
                                  hidden_sizes=model_arguments.stage_widths(),
                                  temporal_adaptive=model_arguments.temporal_adaptive is not False,
                                  classifier_dropout=model_arguments.classifier_dropout, **clip_kwargs, **label_kwargs)
        return TadaResNetForVideoClassification(config), None
    check_model_source(source)
    if model_arguments.hidden_sizes is not None:  # make run passes the ResNet options whatever the model
        logger.warning(f"--hidden_sizes, --depth and --stem_width are ignored: the architecture comes from {source}.")
    if source.endswith(".json") or _is_config_only_folder(source):  # a configuration: start from scratch
        overrides = {} if model_arguments.temporal_adaptive is None else {
            "temporal_adaptive": model_arguments.temporal_adaptive}
        config = AutoConfig.from_pretrained(source, classifier_dropout=model_arguments.classifier_dropout,
                                            **clip_kwargs, **label_kwargs, **overrides)
        if config.model_type not in TADA_MODEL_TYPES:
            raise UsageError(f"--model_name_or_path {source}: a {config.model_type} configuration; from scratch, this "
                             f"script trains the TAda models ({', '.join(TADA_MODEL_TYPES)}).")
        return AutoModelForVideoClassification.from_config(config), None
    hub_kwargs = model_arguments.hub_kwargs()
    try:
        if source.endswith(STATE_DICT_FILES):
            inflate = inflate_convnext_2d if _holds_a_convnext(source) else inflate_resnet_2d
        else:
            inflate = INFLATE_2D.get(AutoConfig.from_pretrained(source, **hub_kwargs).model_type)
        if inflate is not None:
            model = inflate(source, classifier_dropout=model_arguments.classifier_dropout, hub_kwargs=hub_kwargs,
                            **clip_kwargs, **label_kwargs)
            return model, source
        # Its own head and labels first: they are fitted to the data's classes below, by name.
        model = AutoModelForVideoClassification.from_pretrained(
            source, classifier_dropout=model_arguments.classifier_dropout, **hub_kwargs, **clip_kwargs)
    except OSError as error:  # transformers' answer for a repository it cannot find or reach
        raise UsageError(f"--model_name_or_path {source}: no such local folder, and no model of that name on the Hub "
                         f"could be reached ({str(error).splitlines()[0]}).") from None
    return fit_head_to_labels(model, labels), source


TADA_MODEL_TYPES = ("tada_resnet", "tada_convnext_v2", "tadaformer")
# 2D networks by their transformers model_type, and the inflation that makes a TAda model of each.
INFLATE_2D = {"resnet": inflate_resnet_2d, "convnext": inflate_convnext_2d, "clip": inflate_clip,
              "clip_vision_model": inflate_clip}
STATE_DICT_FILES = (".pth", ".pt", ".safetensors")


def _holds_a_convnext(path: str) -> bool:
    """Whether a 2D state dict file holds a ConvNeXt (timm or transformers names) rather than a ResNet."""
    if path.endswith(".safetensors"):
        from safetensors import safe_open

        with safe_open(path, "pt") as weights:
            keys = set(weights.keys())
    else:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        keys = set(loaded.get("state_dict", loaded)) if isinstance(loaded, dict) else set()
    return "stem.0.weight" in keys or any(key.endswith("embeddings.patch_embeddings.weight") for key in keys)


# Data options that state the clip, and the ClipSettings field each one sets.
CLIP_OPTIONS = {"num_frames": "num_frames", "sample_interval": "sample_interval", "target_fps": "target_fps",
                "sample_mode": "sample_mode", "image_size": "image_size", "image_mean": "mean", "image_std": "std"}


def with_dataset_defaults(data_arguments: DataArguments, kind: DatasetKind) -> DataArguments:
    """`data_arguments` with the dataset's own recipe settings where options did not say: its sampling (SSv2:
    segments, ahead of a checkpoint's) and its evaluation views."""
    temporal_views, spatial_views = kind.eval_views
    return dataclasses.replace(
        data_arguments,
        sample_mode=data_arguments.sample_mode or kind.sample_mode,
        eval_temporal_crops=data_arguments.eval_temporal_crops or temporal_views,
        eval_spatial_crops=data_arguments.eval_spatial_crops or spatial_views)


def with_clip_defaults(model_arguments: ModelArguments, data_arguments: DataArguments) -> DataArguments:
    """`data_arguments` with every clip setting that was not given taken from the checkpoint's video processor, or
    else from the recipe."""
    defaults = checkpoint_clip_settings(model_arguments) or RECIPE
    if defaults is RECIPE and starts_from_clip(model_arguments):  # CLIP's features need CLIP's normalisation
        defaults = dataclasses.replace(RECIPE, mean=tuple(CLIP_MEAN), std=tuple(CLIP_STD))
    filled = {option: getattr(defaults, setting) for option, setting in CLIP_OPTIONS.items()
              if getattr(data_arguments, option) is None}
    for option in ("image_mean", "image_std"):
        if option in filled:
            filled[option] = list(filled[option])
    return dataclasses.replace(data_arguments, **filled)


def checkpoint_clip_settings(model_arguments: ModelArguments) -> ClipSettings | None:
    """The clip settings of the checkpoint's own video processor; None for a checkpoint without one (a 2D network,
    a configuration, a state dict file)."""
    source = model_arguments.model_name_or_path
    if source is None or source.endswith((".json", *STATE_DICT_FILES)):
        return None
    if os.path.isdir(os.path.expanduser(source)) and not (Path(source).expanduser() /
                                                          "video_preprocessor_config.json").is_file():
        return None
    from transformers import AutoVideoProcessor

    try:
        processor = AutoVideoProcessor.from_pretrained(source, **model_arguments.hub_kwargs())
    except (OSError, ValueError):  # none on the Hub either (or the Hub unreachable: the model's loading says so)
        return None
    return processor.clip_settings() if hasattr(processor, "clip_settings") else None


def starts_from_clip(model_arguments: ModelArguments) -> bool:
    """Whether --model_name_or_path is a transformers CLIP checkpoint (to inflate into TAdaFormer)."""
    source = model_arguments.model_name_or_path
    if source is None or source.endswith((".json", *STATE_DICT_FILES)) or os.path.isfile(os.path.expanduser(source)):
        return False
    try:
        return AutoConfig.from_pretrained(source, **model_arguments.hub_kwargs()).model_type in CLIP_MODEL_TYPES
    except (OSError, ValueError):  # not a transformers checkpoint; the model's loading says what it is
        return False


def check_model_source(source: str) -> None:
    """A path that does not exist is named as such (transformers would take it for a Hub id and answer "Repo id
    must be in the form ...")."""
    looks_like_path = source.startswith((".", "/", "~")) or source.endswith((".json", ".pth", ".pt")) or \
        source.count("/") > 1 or os.sep != "/" and os.sep in source
    if looks_like_path and not os.path.exists(os.path.expanduser(source)):
        raise UsageError(f"--model_name_or_path {source}: no such file or folder.")


def fit_head_to_labels(model, labels: tuple):
    """The checkpoint's classifier for the data's classes, matched by name: the same classes in another order get
    their rows reordered (relabelling alone would mislabel every prediction); other classes get a new classifier,
    with a warning."""
    config = model.config
    own = [config.id2label[index] for index in range(config.num_labels)]
    if own == list(labels):
        return model
    config.num_labels = len(labels)  # also resets id2label and label2id to generic names
    config.id2label, config.label2id = dict(enumerate(labels)), {name: index for index, name in enumerate(labels)}
    classifier = model.classifier
    if sorted(own) == sorted(labels):
        rows = torch.tensor([own.index(name) for name in labels])
        with torch.no_grad():
            classifier.weight.copy_(classifier.weight[rows])
            classifier.bias.copy_(classifier.bias[rows])
        logger.info("The checkpoint's classes are the data's in another order: its classifier rows follow them.")
        return model
    logger.warning(f"The checkpoint classifies {len(own)} classes ({', '.join(own[:3])}, ...), not the data's "
                   f"{len(labels)} ({', '.join(labels[:3])}, ...): its classifier is replaced by a new one, trained "
                   "from scratch.")
    model.classifier = torch.nn.Linear(classifier.in_features, len(labels))  # PyTorch's initialisation, as the recipe's
    return model


def _is_config_only_folder(path: str) -> bool:
    folder = Path(path)
    return (folder / "config.json").is_file() and not any(folder.glob("*.safetensors")) and not any(
        folder.glob("*.bin"))


def check_hub_access(training_arguments) -> None:
    """Fail at start-up, not after training, when the model cannot be pushed."""
    if not training_arguments.push_to_hub:
        return
    from huggingface_hub import HfApi, get_token, is_offline_mode

    problem = None
    if not training_arguments.hub_model_id:
        problem = "give --hub_model_id (e.g. your-name/tada-r50-hmdb51)"
    elif is_offline_mode():
        problem = "the Hub is switched off here (HF_HUB_OFFLINE is set): unset it or drop --push_to_hub"
    elif get_token() is None and not training_arguments.hub_token:
        problem = "no Hugging Face token: run `hf auth login`, set HF_TOKEN, or pass --hub_token"
    else:
        try:
            HfApi(token=training_arguments.hub_token).whoami()
        except Exception as error:  # any network or authentication failure means the push would fail
            problem = f"the Hub cannot be reached or the token is refused ({error})"
    if problem:
        raise SystemExit(f"--push_to_hub: {problem}. Nothing was trained.")


def parse_arguments(argv=None) -> tuple:
    """(model, data, training) arguments from the command line, or from one JSON or YAML file of them."""
    # A short usage line: argparse prints it before each error, and the full one lists every TrainingArguments option.
    parser = HfArgumentParser((ModelArguments, DataArguments, VideoTrainingArguments),
                              usage="%(prog)s [options]  (--help lists them)")
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        argv = options_file_as_command_line(argv[0])  # parsed as typed: the same types, choices and messages
    given = vars(parser.parse_known_args(argv)[0])
    try:
        model_arguments, data_arguments, training_arguments = parser.parse_args_into_dataclasses(args=argv)
    except ValueError as error:  # TrainingArguments' own checks of option combinations
        raise UsageError(f"error: {error}") from None
    check_counts(model_arguments, data_arguments)
    try:
        parse_learning_rate_multipliers(training_arguments.learning_rate_multipliers)
    except ValueError as error:
        raise UsageError(f"--learning_rate_multipliers: {error}") from None
    # TrainingArguments turns do_eval back on whenever eval_strategy is set: honour an explicit --do_eval False.
    if str(given.get("do_eval")).lower() in ("false", "0", "no"):
        training_arguments = dataclasses.replace(training_arguments, eval_strategy="no", do_eval=False)
    return model_arguments, data_arguments, training_arguments


def check_counts(model_arguments: ModelArguments, data_arguments: DataArguments) -> None:
    """Counts that must be positive, checked before anything runs (a 0 would train, save, then fail)."""
    problems = [f"--{name} {value}: expected a positive number" for name, value in (
        ("num_folds", data_arguments.num_folds), ("num_frames", data_arguments.num_frames),
        ("sample_interval", data_arguments.sample_interval), ("image_size", data_arguments.image_size),
        ("eval_temporal_crops", data_arguments.eval_temporal_crops),
        ("max_train_samples", data_arguments.max_train_samples),
        ("max_eval_samples", data_arguments.max_eval_samples)) if value is not None and value < 1]
    if problems:
        raise UsageError("; ".join(problems) + ".")
    model_arguments.stage_widths()  # parsed now, not after the data is prepared


def options_file_as_command_line(path: str) -> list[str]:
    """`--name value` for every entry of a JSON or YAML mapping (lists give several values; null leaves it out)."""
    import yaml

    with open(path, encoding="utf-8") as file:
        options = yaml.safe_load(file)  # JSON is YAML too
    if not isinstance(options, dict):
        raise SystemExit(f"{path}: expected a mapping of option names to values, such as {{\"num_frames\": 16}}.")
    argv = []
    for name, value in options.items():
        if value is not None:
            argv += [f"--{name}", *map(str, value if isinstance(value, list) else [value])]
    return argv


def quiet_loader_settings(training_arguments):
    """No pinned memory without an accelerator to copy to (PyTorch warns once per worker and epoch otherwise), and
    loader workers kept across epochs rather than started again for each."""
    changes = {}
    if training_arguments.dataloader_pin_memory and not torch.cuda.is_available():
        changes["dataloader_pin_memory"] = False
    if training_arguments.dataloader_num_workers > 0 and not training_arguments.dataloader_persistent_workers:
        changes["dataloader_persistent_workers"] = True
    return dataclasses.replace(training_arguments, **changes) if changes else training_arguments


def main(argv=None):
    """The run; a mistake in the data ends it with its report, without a traceback."""
    try:
        return run(argv)
    except USER_MISTAKES as error:
        raise UsageError(f"error: {error}") from None


def run(argv=None):
    model_arguments, data_arguments, training_arguments = parse_arguments(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
                        if training_arguments.should_log else logging.WARNING)
    # transformers' own bars ("Writing model shards" at every checkpoint, "Loading weights"); the Trainer's stay.
    transformers.utils.logging.disable_progress_bar()
    check_hub_access(training_arguments)
    resume_from = None
    if training_arguments.do_train:
        # Before any preparing: a run never writes over another (resumed, refused, or started afresh when asked).
        resume_from = resolve_resume(training_arguments.output_dir, training_arguments.resume_from_checkpoint,
                                     training_arguments.overwrite_output_dir,
                                     is_main_process=training_arguments.process_index == 0,
                                     process_index=training_arguments.process_index,
                                     world_size=training_arguments.world_size)
    stopper = StopOnTermination().install()
    stop_with_launcher()
    set_seed(training_arguments.seed)  # before the model is built: its initialisation too
    training_arguments = quiet_loader_settings(training_arguments)

    if data_arguments.streaming or data_arguments.dataset_name:
        data_dir, (splits, kind) = data_arguments.dataset_name or data_arguments.data_dir, export_splits(data_arguments)
        if data_arguments.streaming:
            training_arguments = stream_by_process(training_arguments)
    else:
        data_dir, kind = resolve_dataset(data_arguments, training_arguments)
        with training_arguments.main_process_first(desc="preparing the dataset"):
            splits = load_splits(data_dir, kind, data_arguments)
    data_arguments = with_clip_defaults(model_arguments, with_dataset_defaults(data_arguments, kind))
    try:
        flip_probability, mirrored_labels = kind.training_flip(data_arguments.flip_probability)
    except ValueError as error:
        raise UsageError(f"error: --{error}") from None
    train_settings = ClipSettings(num_frames=data_arguments.num_frames, sample_mode=data_arguments.sample_mode,
                                  sample_interval=data_arguments.sample_interval,
                                  target_fps=data_arguments.target_fps, image_size=data_arguments.image_size,
                                  mean=tuple(data_arguments.image_mean), std=tuple(data_arguments.image_std),
                                  flip_probability=flip_probability)
    eval_settings = dataclasses.replace(train_settings, temporal_crops=data_arguments.eval_temporal_crops,
                                        spatial_crops=data_arguments.eval_spatial_crops)
    train_transform = VideoClipTransform(train_settings, train=True, video_backend=data_arguments.video_backend,
                                         augment_on_device=data_arguments.augment_on_device,
                                         mirrored_labels=mirrored_labels)
    if data_arguments.streaming:
        train = splits[kind.train_split].shuffle(seed=training_arguments.seed, buffer_size=STREAM_SHUFFLE_BUFFER)
        if data_arguments.max_train_samples is not None:
            train = train.take(data_arguments.max_train_samples)
        # Decoded lazily as the stream is read, a batch of rows at a time, keeping only what the collator takes.
        train = train.map(train_transform, batched=True, batch_size=training_arguments.per_device_train_batch_size,
                          remove_columns=splits[kind.train_split].column_names)
    else:
        train = sample_rows(splits[kind.train_split], data_arguments.max_train_samples, training_arguments.seed)
        train = concatenate_datasets([train] * data_arguments.num_folds)
        train.set_transform(train_transform)
    test = sample_rows(splits[kind.eval_split], data_arguments.max_eval_samples, training_arguments.seed)
    per_epoch_eval = test.with_transform(VideoClipTransform(train_settings, train=False,
                                                            video_backend=data_arguments.video_backend))

    model, base_model = build_model(model_arguments, data_arguments, kind.class_names)
    if model_arguments.sync_batch_norm:
        if torch.cuda.is_available() and training_arguments.world_size > 1:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            logger.warning("--sync_batch_norm is ignored: it needs several GPU processes.")

    # The video processor goes with the weights into every checkpoint, so that the pipeline runs on any of them: one
    # view, the centred clip's centre crop.
    single_view = dataclasses.replace(eval_settings, temporal_crops=1, spatial_crops=1)
    processor = TadaVideoProcessor.from_clip_settings(single_view, video_backend=data_arguments.video_backend)
    # The Trainer pushes (hub_strategy, hub_revision); VideoTrainer makes its pushes carry our model card, and
    # finishes the training clips on the device with --augment_on_device.
    device_augmentation = DeviceAugmentation(train_settings) if data_arguments.augment_on_device else None
    trainer = VideoTrainer(model=model, args=training_arguments, train_dataset=train, eval_dataset=per_epoch_eval,
                           data_collator=collate_clips, compute_metrics=clip_accuracy, callbacks=[stopper],
                           processing_class=processor, device_augmentation=device_augmentation,
                           learning_rate_multipliers=parse_learning_rate_multipliers(
                               training_arguments.learning_rate_multipliers))
    if trainer.is_world_process_zero():
        num_train = None if data_arguments.streaming else len(train)
        print(run_summary(model, training_arguments, kind, data_dir, data_arguments, num_train, len(test)),
              flush=True)
    try:
        return train_and_evaluate(trainer, stopper, resume_from, training_arguments, data_arguments, test,
                                  eval_settings, kind, base_model)
    except Exception as error:  # torch, safetensors and the Trainer each report a full disk their own way
        full = disk_full_error(error, training_arguments.output_dir)
        if full is None:
            raise
        raise full from error


def sample_rows(dataset, count: int | None, seed: int):
    """A random subset of `count` rows drawn with `seed`, in the dataset's order (all rows if None or more): the
    rows are sorted by class, so the first ones would be a few classes."""
    if count is None or count >= len(dataset):
        return dataset
    return dataset.select(sorted(random.Random(seed).sample(range(len(dataset)), count)))


def train_and_evaluate(trainer, stopper, resume_from, training_arguments, data_arguments, test, eval_settings,
                       kind, base_model) -> dict:
    """--do_train: train (evaluating every epoch with --do_eval); without it, --do_eval evaluates the model once.
    --do_predict: the multi-view evaluation of the test videos, their predictions, and the card's results."""
    if training_arguments.do_train:
        train_result = trainer.train(resume_from_checkpoint=resume_from)
        if stopper.stopped_at is not None:
            logger.warning(f"Stopped by SIGTERM at step {stopper.stopped_at}; its checkpoint is in "
                           f"{training_arguments.output_dir}. Continue with --resume_from_checkpoint True.")
            raise SystemExit(128 + 15)
        if not training_arguments.push_to_hub:  # else the final push saves the model, once, with our card
            trainer.save_model()
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()
    elif training_arguments.do_eval:
        metrics = trainer.evaluate()
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)

    results, predictions = None, None
    if training_arguments.do_predict:
        results, predictions = evaluate_multi_view(trainer, test, eval_settings, data_arguments.video_backend)
        results["views"] = f"{eval_settings.temporal_crops}x{eval_settings.spatial_crops}"
        # Named after the split they measure: "test", or "validation" on SSv2 and Kinetics.
        test_metrics = {f"{kind.eval_split}_{name}": value for name, value in results.items()}
        trainer.log({name: value for name, value in test_metrics.items() if isinstance(value, float)})
        trainer.log_metrics(kind.eval_split, test_metrics)
        trainer.save_metrics(kind.eval_split, test_metrics)
    if training_arguments.do_train:
        if trainer.is_world_process_zero():
            write_outputs(trainer, training_arguments, eval_settings, predictions, results, kind,
                          base_model, data_arguments)
        if training_arguments.push_to_hub:  # every process: the push saves the model first
            pushed = trainer.push_to_hub(commit_message="End of training")
            if pushed is not None:
                print(f"Pushed to {pushed.commit_url}", flush=True)
    elif trainer.is_world_process_zero() and predictions is not None:
        write_predictions(Path(training_arguments.output_dir), predictions, kind.eval_split)
    return results


def run_summary(model, arguments, kind, data_dir, data_arguments, num_train, num_test) -> str:
    """The start line. `num_train` None: a streamed training split, of unknown length."""
    world = arguments.world_size
    batch = arguments.per_device_train_batch_size * world * arguments.gradient_accumulation_steps
    if num_train is None:
        steps, per_epoch, clips = arguments.max_steps, "streamed", "streamed training clips"
    else:
        steps_per_epoch = math.ceil(num_train / batch)
        steps = arguments.max_steps if arguments.max_steps > 0 else math.ceil(steps_per_epoch *
                                                                              arguments.num_train_epochs)
        per_epoch, clips = f"{steps_per_epoch} per epoch", f"{num_train} training clips"
    config = model.config
    what = (f"{steps} steps ({per_epoch}) on {world} process(es) x batch "
            f"{arguments.per_device_train_batch_size}; checkpoints in {arguments.output_dir}"
            if arguments.do_train else f"no training (--do_train False); results in {arguments.output_dir}")
    return (f"{'Fine-tuning' if arguments.do_train else 'Evaluating'} {family_of(config).architecture(config)} "
            f"(temporal_adaptive={config.temporal_adaptive}, {sum(p.numel() for p in model.parameters()):,} "
            f"parameters) on {kind.name} ({data_dir}, split {data_arguments.split}): {clips}, "
            f"{num_test} {kind.eval_split} videos; {what}; {trackers(arguments)}.")


def trackers(arguments) -> str:
    """Where the run's metrics are logged, as the Trainer's callbacks will do it."""
    used = [name for name in arguments.report_to if name != "none"]
    if not used:
        return "no experiment tracker (--report_to none)"
    # Where transformers' TensorBoard callback writes (5.x has no logging_dir argument).
    tensorboard_dir = os.getenv("TENSORBOARD_LOGGING_DIR") or os.path.join(arguments.output_dir, "runs")
    return "logs to " + ", ".join(f"TensorBoard in {tensorboard_dir}" if name == "tensorboard" else name
                                  for name in used)


def write_predictions(output_dir: Path, predictions: list, split: str) -> None:
    with open(output_dir / f"{split}_predictions.jsonl", "w", encoding="utf-8") as file:
        file.writelines(json.dumps(row) + "\n" for row in predictions)


def optimizer_description(trainer) -> tuple[str, str]:
    """(the optimizer's name and its own hyperparameters as it ran, e.g. "sgd (momentum 0, ...)"; the weight decay
    its parameter groups applied)."""
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate wraps it
    own = {name: value for name, value in optimizer.defaults.items()
           if name in ("momentum", "dampening", "nesterov", "betas", "eps", "alpha")}
    settings = ", ".join(f"{name} {value}" for name, value in own.items())
    # The Trainer sets weight decay per parameter group (none for biases), not in the optimizer's defaults.
    decays = sorted({group["weight_decay"] for group in optimizer.param_groups})
    decay = f"{decays[-1]:g}" + (" (biases: 0)" if len(decays) > 1 else "")
    return f"{arguments_value(trainer.args.optim)} ({settings})", decay


def arguments_value(value):
    """An option's plain value (enums such as OptimizerNames.SGD as "sgd")."""
    return getattr(value, "value", value)


def write_outputs(trainer, arguments, eval_settings, predictions, results, kind, base_model,
                  data_arguments) -> None:
    """Next to the final weights and their video processor: per-video predictions on the evaluation split and our
    model card (which the Trainer's final push writes itself, when there is one)."""
    output_dir = Path(arguments.output_dir)
    if predictions is not None:
        write_predictions(output_dir, predictions, kind.eval_split)
    state = trainer.state
    optimizer, weight_decay = optimizer_description(trainer)
    recipe = {"frames x interval": f"{eval_settings.num_frames} x {eval_settings.sample_interval} "
                                   f"({eval_settings.sample_mode}, {eval_settings.target_fps:g} fps)",
              "image size": eval_settings.image_size, "flip probability": eval_settings.flip_probability,
              "optimizer": optimizer, "learning rate": arguments.learning_rate,
              "weight decay": weight_decay, "schedule": arguments_value(arguments.lr_scheduler_type),
              "trained": f"{state.global_step} steps, {state.epoch:.3g} epochs",
              "batch per device": arguments.per_device_train_batch_size, "processes": arguments.world_size,
              "precision": "bf16" if arguments.bf16 else "fp16" if arguments.fp16 else "fp32",
              "split": data_arguments.split, "training folds": data_arguments.num_folds}
    model_name = arguments.hub_model_id or output_dir.name
    trainer.model_card = finetuned_model_card(model_name, trainer.model.config, kind.name, kind.key, base_model, recipe,
                                              results, kind.eval_split)
    if not arguments.push_to_hub:
        trainer.create_model_card()


if __name__ == "__main__":
    main()

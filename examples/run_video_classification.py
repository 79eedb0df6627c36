#!/usr/bin/env python
"""Fine-tune a TAda video classifier (TAda ResNet3D, TAdaConvNeXtV2, TAdaFormer) with the transformers Trainer, on
HMDB51, UCF101, Something-Something V2, Kinetics-400 (`--dataset`, `--data_dir`), an export of one
(`--dataset_name`, loaded or `--streaming`), the synthetic motion set, or your own videos (`--train_dir`,
`--validation_dir`, `--test_dir`, or `--dataset_name` a folder, list file or Hub dataset).

The same command runs on CPU, one GPU, several GPUs and several machines:

    python examples/run_video_classification.py --dataset ucf101 --data_dir data/ucf101 --model_name_or_path CKPT
    python examples/run_video_classification.py --train_dir my_videos/ --model_name_or_path CKPT
    accelerate launch examples/run_video_classification.py ...             (see examples/accelerate_configs/)
    torchrun --nproc_per_node 8 examples/run_video_classification.py ...

Defaults follow the original recipe (EssentialMC2's HMDB51 fine-tune): SGD lr 0.001 weight decay 0.001, a cosine
schedule to 0 over 100 epochs, 16 frames every 4th at 30 fps, 112x112 crops, logging every 10 steps, evaluation and
a checkpoint every epoch, TensorBoard logs. A checkpoint's own video processor gives the clip settings it was
trained with unless options say otherwise; each dataset brings the authors' settings for it (SSv2: segment sampling,
flips that swap the left/right classes' labels, 2 x 3 evaluation views; Kinetics-400: 10 x 3 views). After training,
every evaluation video is classified on `eval_temporal_crops x eval_spatial_crops` views; clip- and video-level
accuracy go to all_results.json. `--help` lists every option; `examples/finetune_hmdb51.py` is this script.
"""

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Literal

import torch
import transformers
from datasets import concatenate_datasets
from transformers import set_seed

from hf_video import TadaVideoProcessor
from hf_video.clips import RECIPE, ClipSettings, DeviceAugmentation, VideoClipTransform, collate_clips
from hf_video.training import (StopOnTermination, VideoTrainer, VideoTrainingArguments, clip_accuracy,
                               disk_full_error, evaluate_multi_view, parse_learning_rate_multipliers, resolve_resume,
                               stop_with_launcher)
from hf_video.training.command_line import (USER_MISTAKES, UsageError, check_hub_access, check_positive,
                                            parse_script_arguments, quiet_loader_settings)
from hf_video.training.dataset_selection import (STREAM_SHUFFLE_BUFFER, export_splits, names_an_export,
                                                 own_video_splits, resolve_dataset, sample_rows, stream_by_process)
from hf_video.training.model_building import build_model, source_clip_settings
from hf_video.training.run_report import run_summary, write_predictions, write_run_outputs

logger = logging.getLogger("run_video_classification")


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(default=None, metadata={"help": (
        "A TAda checkpoint (TAda ResNet, TAdaConvNeXtV2 or TAdaFormer; folder or Hub id) to fine-tune; or a 2D "
        "network to inflate: a ResNet (a transformers ResNet folder / Hub id such as microsoft/resnet-50, or a "
        "torchvision ResNet-50/101/152 state dict .pth) into TAda ResNet, a ConvNeXt (a transformers ConvNeXt such "
        "as facebook/convnext-tiny-224, or a timm ConvNeXt state dict .pth / .safetensors) into TAdaConvNeXtV2, a "
        "transformers CLIP (such as openai/clip-vit-base-patch16; CLIP's mean and std by default) into TAdaFormer; "
        "or a TAda config (config.json, or a folder holding only one) to start from scratch; or nothing, to start from "
        "scratch with the architecture options below.")})
    # From scratch without a config (no --model_name_or_path): a TAda ResNet of these sizes. The other families start
    # from scratch from a config (examples/configs/*.json).
    depth: Literal[18, 34, 50, 101, 152] = field(default=50, metadata={
        "help": "From scratch, TAda ResNet: 18, 34 (our basic-block variant), 50, 101, 152."})
    stem_width: int = field(default=64, metadata={
        "help": "From scratch, TAda ResNet: channels of the stem convolution."})
    hidden_sizes: str | None = field(default=None, metadata={"help": (
        "From scratch, TAda ResNet: comma-separated output widths of the four stages (default: the ResNet widths).")})
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

    def scratch_resnet(self) -> dict:
        """The TAda ResNet sizes for a run from scratch without a config."""
        return dict(depth=self.depth, stem_width=self.stem_width, hidden_sizes=self.stage_widths())


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
        "Train on this instead of data_dir: your own videos (a folder of class folders or split folders, a folder "
        "in datasets' videofolder layout, a folder of train.csv/validation.csv/test.csv lists, one list file, or a "
        "Hub dataset id with a video column), or an export (python -m hf_video.data.export; a local folder or its "
        "copy on the Hub). Decoded through set_transform; an export with --streaming is streamed.")})
    dataset_config_name: str | None = field(default=None, metadata={
        "help": "The configuration of the Hub dataset --dataset_name names, if it has several."})
    train_dir: str | None = field(default=None, metadata={
        "help": "Your own training videos: a folder of class folders (<label>/<file>) or a list file."})
    validation_dir: str | None = field(default=None, metadata={
        "help": "Your own validation videos (a folder of class folders or a list file)."})
    test_dir: str | None = field(default=None, metadata={
        "help": "Your own test videos (a folder of class folders or a list file); results are reported on them."})
    video_column_name: str | None = field(default=None, metadata={
        "help": "Your videos' column (default: the first of video, path, file_name, video_path, filename)."})
    label_column_name: str | None = field(default=None, metadata={
        "help": "Your labels' column (default: the first of label, labels, class, category)."})
    train_val_split: float | None = field(default=0.15, metadata={"help": (
        "Your own videos without a validation or test split: the fraction of the training videos held out to "
        "evaluate on (stratified by class, drawn with --seed).")})
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


# Data options that state the clip, and the ClipSettings field each one sets.
CLIP_OPTIONS = {"num_frames": "num_frames", "sample_interval": "sample_interval", "target_fps": "target_fps",
                "sample_mode": "sample_mode", "image_size": "image_size", "image_mean": "mean", "image_std": "std"}


def with_dataset_defaults(data_arguments: DataArguments, kind) -> DataArguments:
    """`data_arguments` with the dataset's own recipe settings where options did not say: its sampling (SSv2:
    segments, ahead of a checkpoint's) and its evaluation views."""
    temporal_views, spatial_views = kind.eval_views
    return dataclasses.replace(
        data_arguments, sample_mode=data_arguments.sample_mode or kind.sample_mode,
        eval_temporal_crops=data_arguments.eval_temporal_crops or temporal_views,
        eval_spatial_crops=data_arguments.eval_spatial_crops or spatial_views)


def with_clip_defaults(model_arguments: ModelArguments, data_arguments: DataArguments) -> DataArguments:
    """`data_arguments` with every clip setting that was not given taken from the checkpoint's video processor (CLIP's
    mean and std for a CLIP checkpoint), or else from the recipe."""
    defaults = source_clip_settings(model_arguments.model_name_or_path, model_arguments.hub_kwargs())
    filled = {option: getattr(defaults, setting) for option, setting in CLIP_OPTIONS.items()
              if getattr(data_arguments, option) is None}
    for option in ("image_mean", "image_std"):
        if option in filled:
            filled[option] = list(filled[option])
    return dataclasses.replace(data_arguments, **filled)


def parse_arguments(argv=None) -> tuple:
    """(model, data, training) arguments from the command line, or from one JSON or YAML file of them."""
    model_arguments, data_arguments, training_arguments = parse_script_arguments(
        (ModelArguments, DataArguments, VideoTrainingArguments), argv)
    check_positive(**{name: getattr(data_arguments, name) for name in (
        "num_folds", "num_frames", "sample_interval", "image_size", "eval_temporal_crops", "max_train_samples",
        "max_eval_samples")})
    model_arguments.stage_widths()  # parsed now, not after the data is prepared
    if data_arguments.streaming and (data_arguments.num_folds != 1 or data_arguments.synthetic_if_missing):
        raise UsageError("--num_folds and --synthetic_if_missing do not apply to --streaming.")
    if data_arguments.train_val_split is not None and not 0 <= data_arguments.train_val_split < 1:
        raise UsageError(f"--train_val_split {data_arguments.train_val_split}: expected a fraction from 0 to below 1.")
    if (data_arguments.validation_dir or data_arguments.test_dir) and not data_arguments.train_dir:
        raise UsageError("--validation_dir and --test_dir go with --train_dir.")
    if data_arguments.train_dir and data_arguments.dataset_name:
        raise UsageError("--train_dir and --dataset_name: give one or the other.")
    try:
        parse_learning_rate_multipliers(training_arguments.learning_rate_multipliers)
    except ValueError as error:
        raise UsageError(f"--learning_rate_multipliers: {error}") from None
    return model_arguments, data_arguments, training_arguments


def main(argv=None):
    """The run; a mistake in the data ends it with its report, without a traceback."""
    try:
        return run(argv)
    except USER_MISTAKES as error:
        raise UsageError(f"error: {error}") from None


def run(argv=None):
    model_arguments, data_arguments, training_arguments = parse_arguments(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.INFO if training_arguments.should_log else logging.WARNING)
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

    # The data: an export (loaded or streamed), your own videos, or a dataset's folder prepared by its builder.
    split_folders = {split: getattr(data_arguments, f"{split}_dir") for split in ("train", "validation", "test")
                     if getattr(data_arguments, f"{split}_dir")}
    official_split = None  # the builders' split scheme (HMDB51, UCF101: 1, 2 or 3)
    if data_arguments.streaming or data_arguments.dataset_name and names_an_export(data_arguments.dataset_name):
        source = data_arguments.dataset_name or data_arguments.data_dir
        splits, kind = export_splits(source, data_arguments.dataset, data_arguments.streaming)
        if data_arguments.streaming:
            training_arguments = stream_by_process(training_arguments)
    elif data_arguments.dataset_name or split_folders:
        source = data_arguments.dataset_name or split_folders["train"]
        splits, kind = own_video_splits(
            data_arguments.dataset_name, split_folders, training_arguments,
            config_name=data_arguments.dataset_config_name, video_column=data_arguments.video_column_name,
            label_column=data_arguments.label_column_name, train_val_split=data_arguments.train_val_split,
            seed=training_arguments.seed, cache_dir=data_arguments.dataset_cache_dir,
            num_proc=data_arguments.prepare_num_proc, skip_unreadable=data_arguments.skip_unreadable)
    else:
        source, kind = resolve_dataset(data_arguments.data_dir, data_arguments.dataset, training_arguments,
                                       data_arguments.synthetic_if_missing)
        official_split = data_arguments.split
        with training_arguments.main_process_first(desc="preparing the dataset"):
            splits = kind.load(source, split=data_arguments.split, cache_dir=data_arguments.dataset_cache_dir,
                               num_proc=data_arguments.prepare_num_proc, skip_unreadable=data_arguments.skip_unreadable)
    data_arguments = with_clip_defaults(model_arguments, with_dataset_defaults(data_arguments, kind))

    # The clips: training (random crops and flips) and evaluation settings, decoded lazily through transforms.
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

    # The model: a checkpoint fitted to the data's classes, an inflated 2D network, or from scratch.
    model, base_model = build_model(
        model_arguments.model_name_or_path, kind.class_names, classifier_dropout=model_arguments.classifier_dropout,
        num_frames=data_arguments.num_frames, image_size=data_arguments.image_size,
        temporal_adaptive=model_arguments.temporal_adaptive, scratch_resnet=model_arguments.scratch_resnet(),
        hub_kwargs=model_arguments.hub_kwargs())
    if model_arguments.sync_batch_norm:
        if torch.cuda.is_available() and training_arguments.world_size > 1:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            logger.warning("--sync_batch_norm is ignored: it needs several GPU processes.")

    # The video processor goes with the weights into every checkpoint, so that the pipeline runs on any of them: one
    # view, the centred clip's centre crop. VideoTrainer's pushes carry our model card, and it finishes the
    # training clips on the device with --augment_on_device.
    single_view = dataclasses.replace(eval_settings, temporal_crops=1, spatial_crops=1)
    processor = TadaVideoProcessor.from_clip_settings(single_view, video_backend=data_arguments.video_backend)
    device_augmentation = DeviceAugmentation(train_settings) if data_arguments.augment_on_device else None
    trainer = VideoTrainer(model=model, args=training_arguments, train_dataset=train, eval_dataset=per_epoch_eval,
                           data_collator=collate_clips, compute_metrics=clip_accuracy, callbacks=[stopper],
                           processing_class=processor, device_augmentation=device_augmentation,
                           learning_rate_multipliers=parse_learning_rate_multipliers(
                               training_arguments.learning_rate_multipliers))
    if trainer.is_world_process_zero():
        print(run_summary(model, training_arguments, kind, source, None if data_arguments.streaming else len(train),
                          len(test), official_split), flush=True)
    try:
        return train_and_evaluate(trainer, stopper, resume_from, data_arguments, test, eval_settings, kind,
                                  base_model, official_split)
    except Exception as error:  # torch, safetensors and the Trainer each report a full disk their own way
        full = disk_full_error(error, training_arguments.output_dir)
        if full is None:
            raise
        raise full from error


def train_and_evaluate(trainer, stopper, resume_from, data_arguments, test, eval_settings, kind, base_model,
                       official_split=None) -> dict:
    """--do_train: train (evaluating every epoch with --do_eval); without it, --do_eval evaluates the model once.
    --do_predict: the multi-view evaluation of the test videos, their predictions, and the card's results."""
    arguments = trainer.args
    if arguments.do_train:
        train_result = trainer.train(resume_from_checkpoint=resume_from)
        if stopper.stopped_at is not None:
            logger.warning(f"Stopped by SIGTERM at step {stopper.stopped_at}; its checkpoint is in "
                           f"{arguments.output_dir}. Continue with --resume_from_checkpoint True.")
            raise SystemExit(128 + 15)
        if not arguments.push_to_hub:  # else the final push saves the model, once, with our card
            trainer.save_model()
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()
    elif arguments.do_eval:
        metrics = trainer.evaluate()
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)

    results, predictions = None, None
    if arguments.do_predict:
        results, predictions = evaluate_multi_view(trainer, test, eval_settings, data_arguments.video_backend)
        results["views"] = f"{eval_settings.temporal_crops}x{eval_settings.spatial_crops}"
        # Named after the split they measure: "test", or "validation" on SSv2 and Kinetics.
        test_metrics = {f"{kind.eval_split}_{name}": value for name, value in results.items()}
        trainer.log({name: value for name, value in test_metrics.items() if isinstance(value, float)})
        trainer.log_metrics(kind.eval_split, test_metrics)
        trainer.save_metrics(kind.eval_split, test_metrics)
    if arguments.do_train:
        if trainer.is_world_process_zero():
            write_run_outputs(trainer, eval_settings, predictions, results, kind, base_model,
                              {"split": official_split or "-", "training folds": data_arguments.num_folds})
        if arguments.push_to_hub:  # every process: the push saves the model first
            pushed = trainer.push_to_hub(commit_message="End of training")
            if pushed is not None:
                print(f"Pushed to {pushed.commit_url}", flush=True)
    elif trainer.is_world_process_zero() and predictions is not None:
        write_predictions(arguments.output_dir, predictions, kind.eval_split)
    return results


if __name__ == "__main__":
    main()

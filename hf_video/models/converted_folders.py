"""What every converter of the authors' checkpoints does around the mapping: the label names (options, checks), the
output folder (refused when it holds files, written in a staging folder and moved into place) and its contents
(weights and config, a video processor, a model card)."""

from pathlib import Path

from ..atomic_folder import atomic_folder
from ..cards import converted_checkpoint_card, released_checkpoint_card
from .label_sets import LABEL_SETS, named_label_set, read_id2label_file


def check_output_dir(output_dir) -> Path:
    """`output_dir` as a Path, refused before any work if it holds files (atomic_folder checks it again)."""
    output_dir = Path(output_dir)
    if output_dir.exists() and any(output_dir.iterdir()):
        raise FileExistsError(f"{output_dir} exists and is not empty; remove it or choose another --output_dir.")
    return output_dir


def with_label_names(config_kwargs: dict, label_names, label_origin) -> dict:
    """`config_kwargs` with id2label / label2id from `label_names`, which must be one per class of the head."""
    if label_names is None:
        return config_kwargs
    if len(label_names) != config_kwargs["num_labels"]:
        raise ValueError(f"{len(label_names)} label names given ({label_origin}), but the checkpoint's head has "
                         f"{config_kwargs['num_labels']} classes.")
    return {**config_kwargs, "id2label": dict(enumerate(label_names)),
            "label2id": {name: index for index, name in enumerate(label_names)}}


def write_converted_folder(output_dir: Path, model, processor_kwargs: dict, checkpoint_path, released_checkpoint,
                           label_origin):
    """The model, a video processor (`processor_kwargs` over the model's frames and size) and the model card (the
    released checkpoint's, or one naming the source file) into `output_dir`, complete or not at all."""
    from ..clips.video_processing_tada import TadaVideoProcessor

    config = model.config
    processor = TadaVideoProcessor(**{"num_frames": config.num_frames, "image_size": config.image_size,
                                      **processor_kwargs})
    if released_checkpoint is not None:
        card = released_checkpoint_card(released_checkpoint)
    else:
        card = converted_checkpoint_card(output_dir.name, Path(checkpoint_path).name, config,
                                         label_origin or "generic names LABEL_0, LABEL_1, ...")
    with atomic_folder(output_dir) as staging:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)
        (staging / "README.md").write_text(card, encoding="utf-8")


def add_label_options(parser) -> None:
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--label_set", choices=sorted(LABEL_SETS),
                        help="known label names: kinetics400 (alphabetical), hmdb51 (sorted folders, ours), "
                             "hmdb51-essmc2 (EssentialMC2's order)")
    labels.add_argument("--id2label", help="JSON file {id: label} or {label: id} (e.g. SSv2's labels.json)")


def label_names_of(arguments) -> tuple:
    """(label names, where they come from) from --label_set / --id2label; (None, None) for neither."""
    if arguments.label_set:
        return named_label_set(arguments.label_set), f"label set {arguments.label_set}"
    if arguments.id2label:
        return read_id2label_file(arguments.id2label), Path(arguments.id2label).name
    return None, None

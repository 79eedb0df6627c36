"""What a run's `--model_name_or_path` names, and the model it trains from it: a TAda checkpoint (its classifier fitted
to the data's classes by name), a 2D network inflated into its TAda family, a TAda configuration to start from
scratch, or nothing (a TAda ResNet from scratch). Also the clip settings the source was trained with, which a run
takes unless told otherwise.

    model, base_model = build_model("facebook/convnext-tiny-224", labels=("run", "walk"), num_frames=16)
"""

import dataclasses
import logging
import os
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForVideoClassification

from ..clips.clip_settings import RECIPE, ClipSettings
from .command_line import UsageError

logger = logging.getLogger(__name__)

TADA_MODEL_TYPES = ("tada_resnet", "tada_convnext_v2", "tadaformer")
STATE_DICT_FILES = (".pth", ".pt", ".safetensors")
# 2D networks by their transformers model_type, and the hf_video inflation that makes a TAda model of each.
INFLATIONS = {"resnet": "inflate_resnet_2d", "convnext": "inflate_convnext_2d", "clip": "inflate_clip",
              "clip_vision_model": "inflate_clip", "convnextv2": "inflate_convnext_2d"}  # V2: refused, saying why


def _inflation(name: str):
    import hf_video  # the inflations are imported when asked for: `import hf_video` stays light

    return getattr(hf_video, name)


def build_model(source: str | None, labels: tuple, *, classifier_dropout: float = 0.5,
                num_frames: int | None = None, image_size: int | None = None, temporal_adaptive: bool | None = None,
                scratch_resnet: dict | None = None, hub_kwargs: dict | None = None):
    """(model, base model name or None) for `source`: a TAda checkpoint, a 2D network to inflate, a TAda config, or
    None for a TAda ResNet from scratch with `scratch_resnet` (depth, stem_width, hidden_sizes).
    `num_frames`/`image_size` None keep the source's; `temporal_adaptive` None keeps the config's (from scratch:
    TAda)."""
    label_kwargs = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                        label2id={name: index for index, name in enumerate(labels)})
    clip_kwargs = {name: value for name, value in (("num_frames", num_frames), ("image_size", image_size))
                   if value is not None}
    hub_kwargs = hub_kwargs or {}
    if source is None:
        from ..models.tada_resnet import TadaResNetConfig, TadaResNetForVideoClassification

        config = TadaResNetConfig(**(scratch_resnet or {}), temporal_adaptive=temporal_adaptive is not False,
                                  classifier_dropout=classifier_dropout, **clip_kwargs, **label_kwargs)
        return TadaResNetForVideoClassification(config), None
    check_model_source(source)
    if (scratch_resnet or {}).get("hidden_sizes") is not None:  # `make run` passes ResNet sizes whatever the model
        logger.warning(f"--hidden_sizes, --depth and --stem_width are ignored: the architecture comes from {source}.")
    if source.endswith(".json") or is_config_only_folder(source):  # a configuration: start from scratch
        overrides = {} if temporal_adaptive is None else {"temporal_adaptive": temporal_adaptive}
        config = AutoConfig.from_pretrained(source, classifier_dropout=classifier_dropout, **clip_kwargs,
                                            **label_kwargs, **overrides)
        if config.model_type not in TADA_MODEL_TYPES:
            raise UsageError(f"--model_name_or_path {source}: a {config.model_type} configuration; from scratch, this "
                             f"script trains the TAda models ({', '.join(TADA_MODEL_TYPES)}).")
        return AutoModelForVideoClassification.from_config(config), None
    try:
        if source.endswith(STATE_DICT_FILES):
            inflation = "inflate_convnext_2d" if holds_a_convnext(source) else "inflate_resnet_2d"
        else:
            inflation = INFLATIONS.get(AutoConfig.from_pretrained(source, **hub_kwargs).model_type)
        if inflation is not None:
            try:
                model = _inflation(inflation)(source, classifier_dropout=classifier_dropout, hub_kwargs=hub_kwargs,
                                              **clip_kwargs, **label_kwargs)
            except ValueError as error:  # the 2D network does not fit: the inflation says how
                raise UsageError(f"--model_name_or_path {source}: {error}") from None
            return model, source
        # Its own head and labels first: they are fitted to the data's classes below, by name.
        model = AutoModelForVideoClassification.from_pretrained(source, classifier_dropout=classifier_dropout,
                                                                **hub_kwargs, **clip_kwargs)
    except OSError as error:  # transformers' answer for a repository it cannot find or reach
        raise UsageError(f"--model_name_or_path {source}: no such local folder, and no model of that name on the Hub "
                         f"could be reached ({str(error).splitlines()[0]}).") from None
    return fit_head_to_labels(model, labels), source


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


def source_clip_settings(source: str | None, hub_kwargs: dict | None = None) -> ClipSettings:
    """The clip settings a run defaults to for `source`: its own video processor's, CLIP's mean and std on the
    recipe for a CLIP checkpoint (its features expect them), else the recipe's."""
    own = checkpoint_clip_settings(source, hub_kwargs)
    if own is not None:
        return own
    if starts_from_clip(source, hub_kwargs):
        from ..models.tadaformer.configuration_tadaformer import CLIP_MEAN, CLIP_STD

        return dataclasses.replace(RECIPE, mean=tuple(CLIP_MEAN), std=tuple(CLIP_STD))
    return RECIPE


def checkpoint_clip_settings(source: str | None, hub_kwargs: dict | None = None) -> ClipSettings | None:
    """The clip settings of the checkpoint's own video processor; None for a checkpoint without one (a 2D network,
    a configuration, a state dict file)."""
    if source is None or source.endswith((".json", *STATE_DICT_FILES)):
        return None
    folder = Path(source).expanduser()
    if folder.is_dir() and not (folder / "video_preprocessor_config.json").is_file():
        return None
    from transformers import AutoVideoProcessor

    try:
        processor = AutoVideoProcessor.from_pretrained(source, **(hub_kwargs or {}))
    except (OSError, ValueError):  # none on the Hub either (or the Hub unreachable: the model's loading says so)
        return None
    return processor.clip_settings() if hasattr(processor, "clip_settings") else None


def starts_from_clip(source: str | None, hub_kwargs: dict | None = None) -> bool:
    """Whether `source` is a transformers CLIP checkpoint (to inflate into TAdaFormer)."""
    if source is None or source.endswith((".json", *STATE_DICT_FILES)) or os.path.isfile(os.path.expanduser(source)):
        return False
    from ..models.tadaformer.inflate_tadaformer_from_clip import CLIP_MODEL_TYPES

    try:
        return AutoConfig.from_pretrained(source, **(hub_kwargs or {})).model_type in CLIP_MODEL_TYPES
    except (OSError, ValueError):  # not a transformers checkpoint; the model's loading says what it is
        return False


def check_model_source(source: str) -> None:
    """A path that does not exist is named as such (transformers would take it for a Hub id and answer "Repo id
    must be in the form ...")."""
    looks_like_path = source.startswith((".", "/", "~")) or source.endswith((".json", ".pth", ".pt")) or \
        source.count("/") > 1 or os.sep != "/" and os.sep in source
    if looks_like_path and not os.path.exists(os.path.expanduser(source)):
        raise UsageError(f"--model_name_or_path {source}: no such file or folder.")


def holds_a_convnext(path: str) -> bool:
    """Whether a 2D state dict file holds a ConvNeXt (timm or transformers names) rather than a ResNet."""
    if path.endswith(".safetensors"):
        from safetensors import safe_open

        with safe_open(path, "pt") as weights:
            keys = set(weights.keys())
    else:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        keys = set(loaded.get("state_dict", loaded)) if isinstance(loaded, dict) else set()
    return "stem.0.weight" in keys or any(key.endswith("embeddings.patch_embeddings.weight") for key in keys)


def is_config_only_folder(path: str) -> bool:
    """A folder with a config.json and no weights: a configuration to start from scratch."""
    folder = Path(path)
    return (folder / "config.json").is_file() and not any(folder.glob("*.safetensors")) and not any(
        folder.glob("*.bin"))

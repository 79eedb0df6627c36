"""TAdaFormer from transformers' CLIP: the authors initialise TAdaFormer from CLIP's image encoder (ViT-B/16, L/14).

The CLIP weights go where they were (patch embedding, class token, position embeddings, the layers' attention, MLP
and LayerNorms, the LayerNorms before and after); the patch embedding becomes the tubelet's Conv3d with CLIP's
kernel at the centre tap and zeros at the others, as the authors' `convert_vit_clip_weights` does; the TAda blocks
are new and start as identity (their up projections are zero). So on a clip of one repeated frame the new model's
class tokens are CLIP's for that frame, and its pooled output CLIP's `pooler_output`. CLIP's `visual_projection` is
not used (the authors' models classify the features before it). The head is new.

This file imports only torch, transformers and its sibling files, so that saved folders carry it with the model.
"""

import torch
from transformers import AutoConfig, CLIPVisionModel, PreTrainedModel

from .configuration_tadaformer import TadaFormerConfig

CLIP_MODEL_TYPES = ("clip", "clip_vision_model")
# The authors' route attention head size (one head where the route is narrower, in small models).
AUTHORS_ROUTE_HEAD_DIM = 64
# The CLIP vision configuration's attributes that ours take under the same names.
_SAME_NAMES = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_channels",
               "image_size", "patch_size", "hidden_act", "layer_norm_eps", "attention_dropout")
# CLIPVisionModel state-dict prefixes -> ours (after an optional "vision_model.", which transformers versions differ
# on).
_RENAMED = {"pre_layrnorm.": "tadaformer.embeddings.pre_layernorm.", "embeddings.": "tadaformer.embeddings.",
            "encoder.": "tadaformer.encoder.", "post_layernorm.": "tadaformer.post_layernorm."}


def clip_vision_config(source, hub_kwargs: dict | None = None):
    """The CLIP vision configuration of a CLIPVisionModel or CLIPModel checkpoint (folder or Hub id) or model."""
    if isinstance(source, torch.nn.Module) and not isinstance(source, PreTrainedModel):
        raise ValueError(f"a {type(source).__name__} is not a transformers CLIP model; pass a CLIPModel or "
                         "CLIPVisionModel, or its folder or Hub id.")
    config = source.config if isinstance(source, PreTrainedModel) else \
        AutoConfig.from_pretrained(source, **(hub_kwargs or {}))
    if config.model_type == "clip":
        return config.vision_config
    if config.model_type not in CLIP_MODEL_TYPES:
        raise ValueError(f"{source} is a {config.model_type} checkpoint; TAdaFormer starts from CLIP (a CLIPModel or "
                         "CLIPVisionModel checkpoint such as openai/clip-vit-base-patch16).")
    return config


def inflate_state_dict(clip_state_dict: dict, target_state_dict: dict) -> dict:
    """CLIPVisionModel weights under our names, the patch embedding inflated to the tubelet (centre tap)."""
    inflated = {}
    for key, tensor in clip_state_dict.items():
        key = key.removeprefix("vision_model.")
        prefix = next((prefix for prefix in _RENAMED if key.startswith(prefix)), None)
        if prefix is None or key.endswith("position_ids"):
            continue
        name = _RENAMED[prefix] + key[len(prefix):]
        if name.endswith("patch_embedding.weight"):
            tubelet = target_state_dict[name].shape[2]
            kernel = torch.zeros(tensor.shape[0], tensor.shape[1], tubelet, *tensor.shape[2:], dtype=tensor.dtype)
            kernel[:, :, tubelet // 2] = tensor
            tensor = kernel
        inflated[name] = tensor
    return inflated


def _clip_state_dict(source, vision_config, hub_kwargs: dict) -> dict:
    """CLIP's vision weights, every one of them from the checkpoint: transformers would initialise a missing weight
    at random and only report it, and the inflated model would start from noise there."""
    if isinstance(source, PreTrainedModel):
        return source.state_dict()
    clip, loading = CLIPVisionModel.from_pretrained(source, config=vision_config, output_loading_info=True,
                                                    **hub_kwargs)
    missing = [key for key in loading.get("missing_keys", ()) if not key.endswith("position_ids")]
    if missing:
        raise ValueError(f"{source}: the CLIP checkpoint lacks {len(missing)} weight(s) of its vision model "
                         f"({', '.join(sorted(missing)[:10])}); it is incomplete or not a CLIP image encoder. Download "
                         "it again, or pass a complete one.")
    return clip.state_dict()


def inflate_clip_into(model_class, source, num_labels: int | None = None, hub_kwargs: dict | None = None,
                      **config_kwargs):
    """A `model_class` (TadaFormerForVideoClassification; `from_clip` passes it, so this file never imports the
    modeling file that imports it) whose backbone comes from CLIP's image encoder (a transformers CLIPModel or
    CLIPVisionModel: the model, its folder or Hub id); the TAda blocks and the head are new. `config_kwargs`
    (num_frames, tubelet_size, temporal_enhance, double_tada, route_head_dim, drop_path_rate, id2label, ...) go to
    `TadaFormerConfig`; the transformer's sizes are CLIP's; the route attention's head size is the authors' 64 (one
    head where the route is narrower). `hub_kwargs` (revision, token, ...) go to `from_pretrained`."""
    hub_kwargs = hub_kwargs or {}
    vision_config = clip_vision_config(source, hub_kwargs)
    if num_labels is not None:
        config_kwargs["num_labels"] = num_labels
    clip_sizes = {name: getattr(vision_config, name) for name in _SAME_NAMES}
    clashes = {name: (value, clip_sizes[name]) for name, value in config_kwargs.items()
               if name in clip_sizes and name != "image_size" and value != clip_sizes[name]}
    if clashes:
        stated = ", ".join(f"{name}={clip!r} (not {given!r})" for name, (given, clip) in clashes.items())
        raise ValueError(f"{source} fixes {stated}: the transformer's sizes are CLIP's.")
    kwargs = {**clip_sizes, **config_kwargs}
    route_width = clip_sizes["hidden_size"] // kwargs.get("tada_reduction", 2) // kwargs.get("route_reduction", 2)
    kwargs.setdefault("route_head_dim", min(AUTHORS_ROUTE_HEAD_DIM, route_width))
    config = TadaFormerConfig(**kwargs)
    model = model_class(config)
    state_dict = inflate_state_dict(_clip_state_dict(source, vision_config, hub_kwargs), model.state_dict())
    positions = "tadaformer.embeddings.position_embedding.weight"
    grid = config.image_size // config.patch_size
    # Frames of another size than CLIP's: its position grid resampled, as interpolate_pos_encoding would.
    state_dict[positions] = model.tadaformer.embeddings.resample_position_embeddings(
        state_dict[positions], vision_config.image_size // config.patch_size, grid, grid)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    not_inflated = [key for key in missing if ".tada" not in key and not key.startswith("classifier")]
    if not_inflated or unexpected:
        raise ValueError(f"{source}: the CLIP weights do not fill the model: missing {not_inflated[:10]}, "
                         f"unexpected {unexpected[:10]}")
    return model

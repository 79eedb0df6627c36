"""TAdaFormer (TAdaConvV2, "Temporally-Adaptive Models for Efficient Video Understanding") as a transformers model:
CLIP's image encoder on the frames of a tubelet embedding, with TAda blocks that mix the frames.

After the tubelet embedding the transformer runs on frames: hidden states are (batch * frames, 1 + patches, channels)
tensors, each frame's class token first, and attention is within a frame, as in the authors' model. Time enters only
through the TAda blocks (their route functions and temporal aggregation, and the temporally enhanced down projection).
The TAda convolution is one depthwise convolution and a multiply-add (see tada_v2_ops, shared with TAdaConvNeXtV2).

This file imports only torch, transformers and its sibling files (configuration, tada_block, tada_ops,
tada_v2_ops), so that `register_for_auto_class` can ship them beside saved weights for `trust_remote_code=True` users.
"""

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutputWithPooling, ImageClassifierOutput
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.utils.generic import can_return_tuple

from .configuration_tadaformer import CLIP_MEAN, CLIP_STD, TadaFormerConfig
from .tada_block import TadaFormerTadaBlock
from .tada_ops import (
    BatchNormStatisticsUpdatedOnce,
    MapsTheBaseModelWhenSaved,
    WritesItsVideoProcessorWhenSaved,
    average_views,
    check_clips,
    flatten_views,
)
from .tada_v2_ops import TadaDepthwiseConv2d, drop_path_per_clip, quick_gelu_mlp


def eager_attention_forward(module, query, key, value, attention_mask, scaling, dropout=0.0, num_frames=1, **kwargs):
    """Softmax attention over (N, heads, L, d) queries, keys and values, N = clips * frames: ((N, L, heads, d)
    output, (clips, frames, heads, L, L) weights). The output is computed from that view of the weights, so that a
    gradient reaches the weights handed back."""
    weights = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask
    weights = F.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype).unflatten(0, (-1, num_frames))
    weights = F.dropout(weights, p=dropout, training=module.training)
    return torch.matmul(weights.flatten(0, 1), value).transpose(1, 2).contiguous(), weights


class TadaFormerAttention(nn.Module):
    """CLIP's multi-head self-attention within each frame, through transformers' attention interface
    (`attn_implementation="eager"` or `"sdpa"`). The authors' packed `in_proj` of nn.MultiheadAttention is split into
    q, k and v projections by the converter."""

    def __init__(self, config: TadaFormerConfig):
        super().__init__()
        self.config = config
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.scale = self.head_dim**-0.5
        self.dropout = config.attention_dropout
        self.is_causal = False
        self.q_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.k_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.v_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.out_proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor, num_frames: int, output_attentions: bool = False, **kwargs):
        """(clips * frames, L, C) -> ((clips * frames, L, C), (clips, frames, heads, L, L) weights or None).
        The implementation is looked up at every call, so `model.set_attn_implementation(...)` switches it; weights
        asked for (`output_attentions`) come from the eager implementation, the only one that computes them."""
        shape = (*hidden_states.shape[:-1], self.num_heads, self.head_dim)
        query, key, value = (projection(hidden_states).view(shape).transpose(1, 2)
                             for projection in (self.q_proj, self.k_proj, self.v_proj))
        dropout = self.dropout if self.training else 0.0
        attention = eager_attention_forward if output_attentions else ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation or "eager", eager_attention_forward)
        output, weights = attention(self, query, key, value, None, scaling=self.scale, dropout=dropout,
                                    num_frames=num_frames, **kwargs)
        return self.out_proj(output.reshape(hidden_states.shape)), weights


class TadaFormerMLP(nn.Module):
    def __init__(self, config: TadaFormerConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = ACT2FN[config.hidden_act]
        self.quick_gelu = config.hidden_act == "quick_gelu"
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.quick_gelu:  # as one fused SiLU (see quick_gelu_mlp)
            return quick_gelu_mlp(hidden_states, self.fc1, self.fc2)
        return self.fc2(self.activation(self.fc1(hidden_states)))


class TadaFormerLayer(BatchNormStatisticsUpdatedOnce, GradientCheckpointingLayer):
    """A CLIP layer with the authors' TAda blocks, the unit of activation checkpointing: + TAda block (patch tokens
    only) -> + attention(LN) -> (+ second TAda block with `double_tada`) -> + MLP(LN), each residual branch with
    whole-clip stochastic depth."""

    def __init__(self, config: TadaFormerConfig, drop_path_rate: float):
        super().__init__()
        adaptive = config.temporal_adaptive
        self.tada = TadaFormerTadaBlock(config) if adaptive else None
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self_attn = TadaFormerAttention(config)
        self.tada2 = TadaFormerTadaBlock(config) if adaptive and config.double_tada else None
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = TadaFormerMLP(config)
        self.drop_path_rate = drop_path_rate

    def forward(self, hidden_states: torch.Tensor, num_frames: int, grid: tuple[int, int], **kwargs):
        hidden_states = self._add_tada(self.tada, hidden_states, num_frames, grid)
        attended, weights = self.self_attn(self.layer_norm1(hidden_states), num_frames, **kwargs)
        hidden_states = hidden_states + self._drop_path(attended, num_frames)
        hidden_states = self._add_tada(self.tada2, hidden_states, num_frames, grid)
        hidden_states = hidden_states + self._drop_path(self.mlp(self.layer_norm2(hidden_states)), num_frames)
        return hidden_states, weights

    def _add_tada(self, block, hidden_states, num_frames, grid):
        if block is None:
            return hidden_states
        update = self._drop_path(block(hidden_states[:, 1:], num_frames, grid), num_frames)
        return torch.cat([hidden_states[:, :1], hidden_states[:, 1:] + update], dim=1)

    def _drop_path(self, branch, num_frames):
        return drop_path_per_clip(branch, num_frames, self.drop_path_rate, self.training)


class TadaFormerEncoder(nn.Module):
    """The transformer's layers, with drop-path rates rising linearly over them."""

    def __init__(self, config: TadaFormerConfig):
        super().__init__()
        layers = config.num_hidden_layers
        # Plain floats (a tensor here would not build on the meta device).
        rates = [config.drop_path_rate * index / max(layers - 1, 1) for index in range(layers)]
        self.layers = nn.ModuleList(TadaFormerLayer(config, rate) for rate in rates)

    def forward(self, hidden: torch.Tensor, num_frames: int, grid: tuple, output_hidden_states: bool = False,
                output_attentions: bool = False, **kwargs):
        """(the last layer's output, (B, T, tokens, C); with `output_hidden_states`, the embeddings' and every layer's
        output; with `output_attentions`, every layer's weights). Each hidden state is a view of the tensor the next
        layer reads, so gradients reach it."""
        hidden_states, attentions = [], []
        for layer in self.layers:
            if output_hidden_states:
                clips = hidden.unflatten(0, (-1, num_frames))
                hidden_states.append(clips)
                hidden = clips.flatten(0, 1)
            hidden, weights = layer(hidden, num_frames, grid, output_attentions=output_attentions, **kwargs)
            if output_attentions:
                attentions.append(weights)
        return hidden.unflatten(0, (-1, num_frames)), hidden_states, attentions


class TadaFormerEmbeddings(nn.Module):
    """The tubelet embedding (Conv3d, no bias), the class token of every frame, the spatial position embeddings and
    the LayerNorm before the transformer. Returns (batch * frames, 1 + patches, C), the frame count and the patch
    grid."""

    def __init__(self, config: TadaFormerConfig):
        super().__init__()
        self.num_channels = config.num_channels
        self.patch_size = config.patch_size
        self.grid_size = config.image_size // config.patch_size
        self.patch_embedding = nn.Conv3d(
            config.num_channels, config.hidden_size, (config.tubelet_size, config.patch_size, config.patch_size),
            stride=(config.tubelet_stride, config.patch_size, config.patch_size),
            padding=(config.tubelet_size // 2, 0, 0), bias=False)
        self.class_embedding = nn.Parameter(torch.empty(config.hidden_size))
        self.position_embedding = nn.Embedding(self.grid_size**2 + 1, config.hidden_size)
        self.pre_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False):
        self._check(pixel_values, interpolate_pos_encoding)
        video = pixel_values.to(self.patch_embedding.weight.dtype).transpose(1, 2)  # (B, C, T, H, W)
        embedded = self.patch_embedding(video)
        batch, channels, num_frames, height, width = embedded.shape
        patches = embedded.permute(0, 2, 3, 4, 1).reshape(batch * num_frames, height * width, channels)
        class_tokens = self.class_embedding.to(patches.dtype).expand(patches.shape[0], 1, -1)
        tokens = torch.cat([class_tokens, patches], dim=1) + self.position_embeddings(height, width).to(patches.dtype)
        return self.pre_layernorm(tokens), num_frames, (height, width)

    def position_embeddings(self, height: int, width: int) -> torch.Tensor:
        """(1 + height * width, C) position embeddings for a grid of patches."""
        return self.resample_position_embeddings(self.position_embedding.weight, self.grid_size, height, width)

    @staticmethod
    def resample_position_embeddings(weight: torch.Tensor, grid_size: int, height: int, width: int) -> torch.Tensor:
        """(1 + grid_size ** 2, C) position embeddings (class token first) for a height x width grid of patches:
        bicubically interpolated where the grid differs, as transformers' ViT and CLIP do."""
        if (height, width) == (grid_size, grid_size):
            return weight
        grid = weight[1:].reshape(1, grid_size, grid_size, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(height, width), mode="bicubic", align_corners=False)
        return torch.cat([weight[:1], grid.permute(0, 2, 3, 1).reshape(height * width, -1)])

    def _check(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool) -> None:
        check_clips(pixel_values, self.num_channels)
        shape = tuple(pixel_values.shape)
        batch, num_frames, _, height, width = shape
        trained = self.grid_size * self.patch_size
        if (height % self.patch_size or width % self.patch_size) or (
                (height, width) != (trained, trained) and not interpolate_pos_encoding):
            raise ValueError(
                f"pixel_values of shape {shape}: the position embeddings are for {trained}x{trained} frames. Give "
                f"frames of that size, or pass interpolate_pos_encoding=True for another size that is a multiple of "
                f"the patch size {self.patch_size}.")


class TadaFormerPreTrainedModel(WritesItsVideoProcessorWhenSaved, MapsTheBaseModelWhenSaved,
                                PreTrainedModel):
    config_class = TadaFormerConfig
    base_model_prefix = "tadaformer"
    video_processor_defaults = {"image_mean": CLIP_MEAN, "image_std": CLIP_STD}  # a folder saved without one
    main_input_name = "pixel_values"
    input_modalities = "video"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    # A layer stays on one device when a model is split across devices (device_map="auto").
    _no_split_modules = ["TadaFormerLayer", "TadaFormerEmbeddings"]
    # The losses here average over the local batch; taking `num_items_in_batch` would make the Trainer multiply them
    # by the number of processes.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module):
        """The authors' initialisation: truncated normal (std `initializer_range`) linear and convolution weights,
        zero biases; class token and position embeddings normal with std hidden_size^-0.5, as CLIP's. The TAda
        blocks' up projections and pooled-term BatchNorms start at zero, so that a fresh model is CLIP on every
        frame of the tubelet embedding."""
        starts_at_zero = getattr(module, "zero_init_weight", False)
        if isinstance(module, (nn.Conv1d, nn.Conv3d, nn.Linear, TadaDepthwiseConv2d)):
            if starts_at_zero:
                init.zeros_(module.weight)
            else:
                init.trunc_normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            init.constant_(module.weight, 0.0 if starts_at_zero else 1.0)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)
        elif isinstance(module, TadaFormerEmbeddings):
            init.normal_(module.class_embedding, std=self.config.hidden_size**-0.5)
            init.normal_(module.position_embedding.weight, std=self.config.hidden_size**-0.5)


class TadaFormerModel(TadaFormerPreTrainedModel):
    """The TAdaFormer backbone. `last_hidden_state` and `hidden_states` (the embeddings' output, then every layer's)
    are (batch, frames, 1 + patches, channels), frames as the tubelet embedding leaves them, each frame's class token
    first; `attentions` (with `output_attentions=True`) are (batch, frames, heads, tokens, tokens). `pooler_output`
    is the final LayerNorm of the class token averaged over frames (then the projection, if the config has one), the
    authors' backbone output."""

    def __init__(self, config: TadaFormerConfig):
        super().__init__(config)
        self.embeddings = TadaFormerEmbeddings(config)
        self.encoder = TadaFormerEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.projection = (nn.Linear(config.hidden_size, config.projection_dim, bias=False)
                           if config.projection_dim is not None else None)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        """The tubelet embedding, as CLIP's vision model and VideoMAE return their patch embedding: what
        `enable_input_require_grads()` (PEFT, the Trainer with frozen embeddings and checkpointing) hooks."""
        return self.embeddings.patch_embedding

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        interpolate_pos_encoding: bool = False,
        **kwargs,
    ) -> BaseModelOutputWithPooling:
        r"""
        pixel_values (`torch.Tensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
            Normalised clips, of any length (the tubelet's temporal stride takes frames away).
        interpolate_pos_encoding (`bool`, *optional*, defaults to `False`):
            Interpolate the position embeddings to frames of another size than `config.image_size`.
        kwargs: arguments that generic code passes to every model; the attention implementation takes its own.
        """
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states)
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        hidden, num_frames, grid = self.embeddings(pixel_values, interpolate_pos_encoding)
        last_hidden_state, hidden_states, attentions = self.encoder(hidden, num_frames, grid, output_hidden_states,
                                                                    output_attentions, **kwargs)
        pooled = self.post_layernorm(last_hidden_state[:, :, 0].mean(dim=1))
        if self.projection is not None:
            pooled = self.projection(pooled)
        return BaseModelOutputWithPooling(
            last_hidden_state=last_hidden_state, pooler_output=pooled,
            hidden_states=(*hidden_states, last_hidden_state) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )


class TadaFormerForVideoClassification(TadaFormerPreTrainedModel):
    """TAdaFormer with the authors' head: dropout and a linear layer on the pooled features. Returns logits (the
    authors' models return softmax probabilities in eval mode)."""

    def __init__(self, config: TadaFormerConfig):
        super().__init__(config)
        self.tadaformer = TadaFormerModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        features = config.projection_dim or config.hidden_size
        self.classifier = nn.Linear(features, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    @classmethod
    def from_clip(cls, source, num_labels: int | None = None, hub_kwargs: dict | None = None, **config_kwargs):
        """A new video classifier from CLIP's image encoder (a transformers CLIPModel or CLIPVisionModel checkpoint:
        folder or Hub id, e.g. "openai/clip-vit-base-patch16"), as the authors initialise TAdaFormer: the tubelet
        embedding holds CLIP's patch kernel at its centre tap, the TAda blocks start as identity, the head is new.
        `config_kwargs` (num_frames, temporal_enhance, double_tada, id2label, ...) go to `TadaFormerConfig`."""
        from .inflate_tadaformer_from_clip import inflate_clip_into

        return inflate_clip_into(cls, source, num_labels=num_labels, hub_kwargs=hub_kwargs, **config_kwargs)

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        interpolate_pos_encoding: bool = False,
        **kwargs,
    ) -> ImageClassifierOutput:
        r"""
        pixel_values (`torch.Tensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
            Normalised clips; or `(batch_size, num_views, num_frames, num_channels, height, width)`, several views of
            each video: `logits` are then the log of the mean of the views' softmax (single-label classification
            only), and hidden states and attentions are per view.
        labels (`torch.Tensor`, *optional*):
            Class indices `(batch_size,)` (single-label), multi-hot floats `(batch_size, num_labels)` (multi-label)
            or floats (regression, `num_labels == 1`); `config.problem_type` picks the loss as in every transformers
            classifier.
        interpolate_pos_encoding (`bool`, *optional*, defaults to `False`):
            Interpolate the position embeddings to frames of another size than `config.image_size`.
        """
        pixel_values, views = flatten_views(pixel_values, self.config.problem_type)
        outputs = self.tadaformer(
            pixel_values, output_hidden_states=output_hidden_states, output_attentions=output_attentions,
            interpolate_pos_encoding=interpolate_pos_encoding, return_dict=True, **kwargs)
        logits = average_views(self.classifier(self.dropout(outputs.pooler_output)), views)
        loss = None
        if labels is not None:
            loss = self.loss_function(labels=labels, pooled_logits=logits, config=self.config)
        return ImageClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                     attentions=outputs.attentions)


# Saved folders carry this file, the configuration's and the shared op files, so they load with
# `trust_remote_code=True`.
TadaFormerConfig.register_for_auto_class()
TadaFormerModel.register_for_auto_class("AutoModel")
TadaFormerForVideoClassification.register_for_auto_class("AutoModelForVideoClassification")

__all__ = [
    "TadaFormerPreTrainedModel",
    "TadaFormerModel",
    "TadaFormerForVideoClassification",
    "TadaFormerTadaBlock",
]

"""The checkpoints released with the authors' TAdaConv repository (its MODEL_ZOO), with the facts their weights do
not show: frames and sampling, the evaluation views and accuracy the authors report, the label names' source, and
the head sizes a converter needs (`--released NAME`)."""

from dataclasses import dataclass

from .model_families import TADA_CONVNEXT_V2, TADA_RESNET, TADAFORMER, ModelFamily


@dataclass(frozen=True)
class ReleasedCheckpoint:
    """Facts about one checkpoint released with the TAdaConv repository (its MODEL_ZOO)."""

    name: str  # the name we publish it under
    family: ModelFamily
    architecture: str
    dataset: str
    dataset_id: str
    num_labels: int
    num_frames: int
    sample_mode: str
    sample_interval: int
    top1: str
    top5: float | None
    views: str  # temporal x spatial evaluation views of the reported accuracy
    label_option: str  # the converter option that gives its label names
    pretraining: str = ""  # what the authors started from, for the card
    route_head_dim: int | None = None  # TAdaConvNeXtV2: the route attention's head size, which no shape shows
    num_attention_heads: int | None = None  # TAdaFormer: the transformer's heads, which no shape shows
    image_size: int = 224  # the authors' training crop (DATA.TRAIN_CROP_SIZE) for every released checkpoint

    @property
    def temporal_and_spatial_views(self) -> tuple[int, int]:
        temporal, spatial = self.views.split("x")
        return int(temporal), int(spatial)

    def convert_command(self) -> str:
        """The converter's command line for this checkpoint: the preset carries frames, sampling and head sizes."""
        return (f"python -m {self.family.converter} \\\n    --checkpoint_path ORIGINAL_CHECKPOINT.pyth "
                f"--output_dir {self.name} \\\n    --released {self.name} {self.label_option}")

    def preset(self) -> tuple[dict, dict]:
        """(config kwargs, video processor kwargs) that this checkpoint's conversion takes from its facts."""
        model = {"num_frames": self.num_frames, "image_size": self.image_size}
        model.update({name: getattr(self, name) for name in ("route_head_dim", "num_attention_heads")
                      if getattr(self, name) is not None})
        return model, {"sample_mode": self.sample_mode, "sample_interval": self.sample_interval}


SSV2_LABELS = "--id2label something-something-v2-labels.json"
KINETICS = dict(dataset="Kinetics-400", dataset_id="kinetics400", num_labels=400, sample_mode="interval",
                label_option="--label_set kinetics400")
SSV2 = dict(dataset="Something-Something V2", dataset_id="something-something-v2", num_labels=174,
            sample_mode="segment", sample_interval=1, label_option=SSV2_LABELS)
TADA2D_R50 = dict(family=TADA_RESNET, architecture="TAda2D ResNet-50")
# TAdaConvNeXtV2 at 16 frames, from ImageNet-1K ConvNeXt (SSv2: then Kinetics-400), evaluated on 3 x 4 (K400) and
# 3 x 2 (SSv2) views; the authors publish top-1 only. K400 clips take every 5th frame, as their configs say.
V2_K400 = dict(family=TADA_CONVNEXT_V2, num_frames=16, sample_interval=5, top5=None, views="4x3", **KINETICS)
V2_SSV2 = dict(family=TADA_CONVNEXT_V2, num_frames=16, top5=None, views="2x3", **SSV2)
# TAdaFormer at 16 frames from CLIP, segment-based sampling on both datasets (the authors' configs), the same views.
FORMER_K400 = dict(family=TADAFORMER, num_frames=16, top5=None, views="4x3", pretraining="CLIP",
                   **{**KINETICS, "sample_mode": "segment", "sample_interval": 1})
FORMER_SSV2 = dict(family=TADAFORMER, num_frames=16, top5=None, views="2x3", pretraining="CLIP", **SSV2)
RELEASED_CHECKPOINTS = {
    checkpoint.name: checkpoint for checkpoint in (
        ReleasedCheckpoint("tada2d-r50-k400-8x8", num_frames=8, sample_interval=8, top1="76.7", top5=92.6,
                           views="10x3", **TADA2D_R50, **KINETICS),
        ReleasedCheckpoint("tada2d-r50-k400-16x5", num_frames=16, sample_interval=5, top1="77.4", top5=93.1,
                           views="10x3", **TADA2D_R50, **KINETICS),
        ReleasedCheckpoint("tada2d-r50-ssv2-8f", num_frames=8, top1="64.0-64.2", top5=88.0, views="2x3",
                           **TADA2D_R50, **SSV2),
        ReleasedCheckpoint("tada2d-r50-ssv2-16f", num_frames=16, top1="65.6", top5=89.1, views="2x3",
                           **TADA2D_R50, **SSV2),
        ReleasedCheckpoint("tadaconvnextv2-t-k400-16f", architecture="TAdaConvNeXtV2-T", top1="79.6",
                           route_head_dim=48, pretraining="ImageNet-1K", **V2_K400),
        ReleasedCheckpoint("tadaconvnextv2-s-k400-16f", architecture="TAdaConvNeXtV2-S", top1="80.8",
                           route_head_dim=48, pretraining="ImageNet-1K", **V2_K400),
        ReleasedCheckpoint("tadaconvnextv2-b-k400-16f", architecture="TAdaConvNeXtV2-B", top1="81.4",
                           route_head_dim=64, pretraining="ImageNet-1K", **V2_K400),
        ReleasedCheckpoint("tadaconvnextv2-t-ssv2-16f", architecture="TAdaConvNeXtV2-T", top1="67.2",
                           route_head_dim=48, pretraining="ImageNet-1K, then Kinetics-400", **V2_SSV2),
        ReleasedCheckpoint("tadaconvnextv2-s-ssv2-16f", architecture="TAdaConvNeXtV2-S", top1="68.4",
                           route_head_dim=48, pretraining="ImageNet-1K, then Kinetics-400", **V2_SSV2),
        ReleasedCheckpoint("tadaformer-b16-k400-16f", architecture="TAdaFormer-B/16", top1="84.5",
                           num_attention_heads=12, **FORMER_K400),
        ReleasedCheckpoint("tadaformer-l14-k400-16f", architecture="TAdaFormer-L/14", top1="87.6",
                           num_attention_heads=16, **FORMER_K400),
        ReleasedCheckpoint("tadaformer-b16-ssv2-16f", architecture="TAdaFormer-B/16", top1="70.4",
                           num_attention_heads=12, **FORMER_SSV2),
        ReleasedCheckpoint("tadaformer-l14-ssv2-16f", architecture="TAdaFormer-L/14", top1="72.4",
                           num_attention_heads=16, **FORMER_SSV2),
    )
}


def released_checkpoints_of(family: ModelFamily) -> dict:
    """{name: ReleasedCheckpoint} of one family's released checkpoints (a converter's --released choices)."""
    return {name: checkpoint for name, checkpoint in RELEASED_CHECKPOINTS.items() if checkpoint.family is family}

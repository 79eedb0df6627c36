"""Our weight names, and reading a ResNet's depth off its blocks: what the converter (original checkpoints) and the
inflation (2D ResNets) share."""

import re

from .configuration_tada_resnet import BASIC_BLOCK_DEPTHS, STAGE_DEPTHS

# The last part of any state-dict key: a parameter (convolutions, BatchNorms, linear layers) or a BatchNorm buffer.
TENSOR_NAME = r"(weight|bias|running_mean|running_var|num_batches_tracked)"

# Our names, to fill with str.format. Stages and blocks count from 0.
STEM_KEY = "tada_resnet.embedder.{part}.{tensor}"
BLOCK_KEY = "tada_resnet.encoder.stages.{stage}.layers.{block}.{part}.{tensor}"
CLASSIFIER_KEY = "classifier.{tensor}"
# BLOCK_KEY read back: the stage, block and part of one of our block weights.
BLOCK_KEY_PATTERN = re.compile(
    rf"tada_resnet\.encoder\.stages\.(?P<stage>\d+)\.layers\.(?P<block>\d+)\.(?P<part>.+)\.{TENSOR_NAME}")


def bottleneck_depth(blocks_per_stage) -> int | None:
    """The ResNet depth (50, 101, 152) whose bottleneck stages have `blocks_per_stage` blocks, or None."""
    return next((depth for depth, depths in STAGE_DEPTHS.items()
                 if depths == tuple(blocks_per_stage) and depth not in BASIC_BLOCK_DEPTHS), None)


def bottleneck_depths_text() -> str:
    """The supported bottleneck depths and their blocks per stage, for error messages."""
    return ", ".join(f"{depth}: {STAGE_DEPTHS[depth]}" for depth in STAGE_DEPTHS if depth not in BASIC_BLOCK_DEPTHS)

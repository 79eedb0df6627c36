from .configuration_tada_convnext_v2 import TadaConvNextV2Config
from .modeling_tada_convnext_v2 import (
    TadaConvNextV2ForVideoClassification,
    TadaConvNextV2Model,
    TadaConvNextV2PreTrainedModel,
    TadaConvNextV2RouteFunction,
    TadaDepthwiseConv2d,
)

__all__ = [
    "TadaConvNextV2Config",
    "TadaConvNextV2ForVideoClassification",
    "TadaConvNextV2Model",
    "TadaConvNextV2PreTrainedModel",
    "TadaConvNextV2RouteFunction",
    "TadaDepthwiseConv2d",
]

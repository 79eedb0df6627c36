from .configuration_tada_resnet import TadaResNetConfig
from .modeling_tada_resnet import (
    TadaConv2d,
    TadaResNetForVideoClassification,
    TadaResNetModel,
    TadaResNetPreTrainedModel,
    TadaResNetRouteFunction,
)

__all__ = [
    "TadaConv2d",
    "TadaResNetConfig",
    "TadaResNetForVideoClassification",
    "TadaResNetModel",
    "TadaResNetPreTrainedModel",
    "TadaResNetRouteFunction",
]

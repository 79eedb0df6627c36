from .configuration_tadaformer import TadaFormerConfig
from .modeling_tadaformer import (
    TadaFormerForVideoClassification,
    TadaFormerModel,
    TadaFormerPreTrainedModel,
    TadaFormerTadaBlock,
)

__all__ = [
    "TadaFormerConfig",
    "TadaFormerForVideoClassification",
    "TadaFormerModel",
    "TadaFormerPreTrainedModel",
    "TadaFormerTadaBlock",
]

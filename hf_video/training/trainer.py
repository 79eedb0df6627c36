"""`VideoTrainer`: transformers' Trainer with two additions, and nothing else of its loop changed.

- Our model card: the Trainer's own push (`push_to_hub=True`: the repository made at start, pushes at every save as
  `hub_strategy` says, to `hub_revision`, then `trainer.push_to_hub()` at the end) writes its card through
  `create_model_card`; setting `model_card` makes that write ours, so every push carries it.
- Device-side augmentation: given `device_augmentation` (`hf_video.data.DeviceAugmentation`), batches of uint8
  crops are finished into `pixel_values` on the training device, after the Trainer moved them there and before the
  model sees them.
"""

from pathlib import Path

from transformers import Trainer


class VideoTrainer(Trainer):
    """A `Trainer` whose `create_model_card` writes `model_card` (markdown) when it is set, and that finishes
    batches of uint8 crops with `device_augmentation` when given."""

    model_card: str | None = None

    def __init__(self, *args, device_augmentation=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device_augmentation = device_augmentation

    def compute_loss(self, model, inputs, *args, **kwargs):
        if self.device_augmentation is not None:
            inputs = self.device_augmentation(inputs)
        return super().compute_loss(model, inputs, *args, **kwargs)

    def create_model_card(self, *args, **kwargs) -> None:
        if self.model_card is None:
            return super().create_model_card(*args, **kwargs)
        if self.is_world_process_zero():
            (Path(self.args.output_dir) / "README.md").write_text(self.model_card, encoding="utf-8")

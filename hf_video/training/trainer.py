"""`VideoTrainer`: transformers' Trainer with three additions, and nothing else of its loop changed.

- Our model card: the Trainer's own push (`push_to_hub=True`: the repository made at start, pushes at every save as
  `hub_strategy` says, to `hub_revision`, then `trainer.push_to_hub()` at the end) writes its card through
  `create_model_card`; setting `model_card` makes that write ours, so every push carries it.
- Device-side augmentation: given `device_augmentation` (`hf_video.clips.DeviceAugmentation`), batches of uint8
  crops are finished into `pixel_values` on the training device, after the Trainer moved them there and before the
  model sees them.
- Learning-rate multipliers by parameter name: the authors fine-tune TAdaConvNeXtV2 with a rate x10 on the head and
  on the TAda parameters that a 2D network lacks. Each multiplied set of parameters gets its own optimizer group
  (weight decay as the Trainer sets it), whose rate the schedule then scales like every other group's.
"""

from pathlib import Path

from transformers import Trainer


def parse_learning_rate_multipliers(text: str | None) -> dict:
    """{name part: factor} from "classifier=10,route=10" (None or "" -> {})."""
    multipliers = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, _, factor = item.partition("=")
        try:
            value = float(factor)
        except ValueError:
            value = None
        if not name.strip() or value is None or not value > 0:
            raise ValueError(f"learning-rate multiplier {item!r}: expected NAME=FACTOR with a positive factor, as in "
                             "classifier=10,route=10.")
        multipliers[name.strip()] = value
    return multipliers


class VideoTrainer(Trainer):
    """A `Trainer` whose `create_model_card` writes `model_card` (markdown) when it is set, that finishes batches of
    uint8 crops with `device_augmentation` when given, and whose optimizer gives the parameters whose names contain
    a key of `learning_rate_multipliers` ({name part: factor}; the first key that matches wins) that factor times
    the learning rate."""

    model_card: str | None = None

    def __init__(self, *args, device_augmentation=None, learning_rate_multipliers: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device_augmentation = device_augmentation
        self.learning_rate_multipliers = dict(learning_rate_multipliers or {})
        unmatched = [key for key in self.learning_rate_multipliers
                     if not any(key in name for name, _ in self.model.named_parameters())]
        if unmatched:  # a misspelt name would otherwise leave its parameters at the base rate, silently
            raise ValueError(f"learning-rate multipliers {unmatched} match no parameter name of the model (names such "
                             f"as {', '.join(name for name, _ in list(self.model.named_parameters())[:3])}, ...).")

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        if not self.learning_rate_multipliers or any("lr_multiplier" in group for group in optimizer.param_groups):
            return optimizer
        names = {id(parameter): name for name, parameter in (model or self.model).named_parameters()}
        groups = []
        for group in optimizer.param_groups:
            by_factor = {}
            for parameter in group["params"]:
                factor = next((value for key, value in self.learning_rate_multipliers.items()
                               if key in names[id(parameter)]), 1.0)
                by_factor.setdefault(factor, []).append(parameter)
            groups += [{**group, "params": params, "lr": group["lr"] * factor, "lr_multiplier": factor}
                       for factor, params in by_factor.items()]
        # Regrouped in place (nothing is stepped yet): the optimizer keeps every setting the Trainer gave it.
        optimizer.param_groups = []
        for group in groups:
            optimizer.add_param_group(group)
        return optimizer

    def compute_loss(self, model, inputs, *args, **kwargs):
        if self.device_augmentation is not None:
            inputs = self.device_augmentation(inputs)
        return super().compute_loss(model, inputs, *args, **kwargs)

    def create_model_card(self, *args, **kwargs) -> None:
        if self.model_card is None:
            return super().create_model_card(*args, **kwargs)
        if self.is_world_process_zero():
            (Path(self.args.output_dir) / "README.md").write_text(self.model_card, encoding="utf-8")

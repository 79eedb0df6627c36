"""`VideoTrainer`: transformers' Trainer, pushing our model card instead of the one it generates.

The Trainer's own push (`push_to_hub=True`: the repository made at start, pushes at every save as `hub_strategy`
says, to `hub_revision`, then `trainer.push_to_hub()` at the end) writes its card through `create_model_card`.
Setting `model_card` makes that write ours, so every push carries it and nothing else of the Trainer changes.
"""

from pathlib import Path

from transformers import Trainer


class VideoTrainer(Trainer):
    """A `Trainer` whose `create_model_card` writes `model_card` (markdown) when it is set."""

    model_card: str | None = None

    def create_model_card(self, *args, **kwargs) -> None:
        if self.model_card is None:
            return super().create_model_card(*args, **kwargs)
        if self.is_world_process_zero():
            (Path(self.args.output_dir) / "README.md").write_text(self.model_card, encoding="utf-8")

"""VideoTrainer's learning-rate multipliers by parameter name (the authors' x10 on the head and the new TAda
parameters): each parameter trains at its rate through warm-up and schedule, weight decay as the Trainer sets it."""

import pytest

from hf_video import TadaConvNextV2Config, TadaConvNextV2ForVideoClassification
from hf_video.training import VideoTrainer, VideoTrainingArguments, parse_learning_rate_multipliers

AUTHORS = "classifier=10,route=10,temporal_pool_layernorm=10"


def trainer_for(tmp_path, multipliers, **arguments):
    model = TadaConvNextV2ForVideoClassification(TadaConvNextV2Config(
        depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], route_head_dim=8, num_labels=3))
    args = VideoTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", optim="adamw_torch",
                                  learning_rate=1e-3, weight_decay=0.05, eval_strategy="no", **arguments)
    return model, VideoTrainer(model=model, args=args, learning_rate_multipliers=parse_learning_rate_multipliers(
        multipliers))


def test_each_parameter_gets_its_rate_and_keeps_it_through_the_schedule(tmp_path):
    model, trainer = trainer_for(tmp_path, AUTHORS, warmup_steps=4, lr_scheduler_type="cosine")
    trainer.create_optimizer_and_scheduler(num_training_steps=20)
    rate_of, decay_of = {}, {}
    for group in trainer.optimizer.param_groups:
        for parameter in group["params"]:
            rate_of[id(parameter)], decay_of[id(parameter)] = group["lr"], group["weight_decay"]
    names = dict(model.named_parameters())
    assert set(rate_of.values()) == {0.0}  # the warm-up starts every group at 0
    for _ in range(6):  # past the warm-up
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    for group in trainer.optimizer.param_groups:
        for parameter in group["params"]:
            rate_of[id(parameter)] = group["lr"]
    base = rate_of[id(names["tada_convnext_v2.encoder.stages.0.layers.0.pwconv1.weight"])]
    assert 0 < base < 1e-3
    for name, parameter in names.items():
        new = any(part in name for part in ("classifier", ".route.", "temporal_pool_layernorm"))
        assert rate_of[id(parameter)] == pytest.approx(base * (10 if new else 1)), name
    assert decay_of[id(names["classifier.weight"])] == 0.05 and decay_of[id(names["classifier.bias"])] == 0.0
    assert {id(p) for group in trainer.optimizer.param_groups for p in group["params"]} == {
        id(p) for p in model.parameters()}  # every parameter once


def test_without_multipliers_the_trainers_own_optimizer_is_kept(tmp_path):
    _, trainer = trainer_for(tmp_path, None)
    trainer.create_optimizer()
    assert all("lr_multiplier" not in group for group in trainer.optimizer.param_groups)
    assert {group["lr"] for group in trainer.optimizer.param_groups} == {1e-3}


def test_a_name_that_matches_nothing_and_a_bad_factor_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\['clasifier'\] match no parameter name"):
        trainer_for(tmp_path, "clasifier=10")
    for text in ("classifier", "classifier=0", "=3", "classifier=x"):
        with pytest.raises(ValueError, match="NAME=FACTOR"):
            parse_learning_rate_multipliers(text)
    assert parse_learning_rate_multipliers(" route=10 , classifier=2.5") == {"route": 10.0, "classifier": 2.5}

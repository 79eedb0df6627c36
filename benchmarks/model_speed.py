"""Model speed: a TAda model (ours) against its per-frame 2D floor and the original's formulation, side by side.

    python benchmarks/model_speed.py                        # CPU, TAda R50, 2 x 16 x 112^2, fp32
    python benchmarks/model_speed.py --family tada_convnext_v2   # TAdaConvNeXtV2-T, the same clips
    python benchmarks/model_speed.py --family tadaformer --checkpointing   # TAdaFormer-B/16, with checkpointing too
    python benchmarks/model_speed.py --compile              # also torch.compile of our model (+ graph breaks)
    python benchmarks/model_speed.py --device cuda --dtypes fp32,bf16,fp16 --batch_size 8 --channels_last

Candidates, all with the same architecture and (where they share them) the same weights:
- `tada`: hf_video's TadaResNetForVideoClassification (`--family tada_resnet`, the default),
  TadaConvNextV2ForVideoClassification (`--family tada_convnext_v2`) or TadaFormerForVideoClassification
  (`--family tadaformer`, B/16 with sdpa attention);
- `per_frame_2d`: the floor a TAda model can reach. TAda ResNet: the same network with `temporal_adaptive=False` (no
  route functions, no temporal pooling). TAdaConvNeXtV2: transformers' plain ConvNextForImageClassification of the
  same depths and widths, run frame by frame on the frames the V2 stem leaves (every other one), its logits averaged
  per clip. TAdaFormer: transformers' CLIPVisionModel of the same sizes with a linear head, run frame by frame on the
  frames the tubelet embedding leaves (every other one), its logits averaged per clip;
- `original`: the original's formulation (Conv3d on (B, C, T, H, W), calibrated weight copies per sample and frame
  and a grouped convolution), `tests/helpers/original_tada2d.py` / `original_tadaconvnextv2.py` /
  `original_tadaformer.py` (nn.MultiheadAttention on (L, N, C) tokens, BatchNorm3d), loaded with the
  weights that `tada` gets converted from; the run checks that both give the same logits first;
- `tada_compiled`, `per_frame_2d_compiled` (`--compile`): `torch.compile` of each (fused elementwise passes); the
  graph-break count of `tada` comes from `torch._dynamo.explain`;
- `*_channels_last` (`--channels_last`): the same models with channels-last weights and input;
- `tada_checkpointed` (`--checkpointing`): `tada` with activation checkpointing of every layer (memory for speed).

Modes: `forward` (eval mode, inference_mode) and `forward_backward` (train mode, cross-entropy on the logits,
backward). Repetitions are interleaved across candidates; ratios are taken repetition by repetition. Memory: bytes
of the tensors autograd saves for backward (exact, on any device; on CPU the bulk of a training step's memory), and
on a GPU the peak CUDA allocation of one training step.

Importing this file needs only torch, transformers and hf_video's model (no datasets, no decoders), so it runs on
a GPU machine without them.
"""

import contextlib
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import (  # noqa: E402
    argument_parser, paired_ratio, print_table, run_interleaved, summarize, verdict, write_json)
from tests.helpers.original_tada2d import OriginalTada2d  # noqa: E402
from tests.helpers.original_tadaconvnextv2 import OriginalTadaConvNextV2  # noqa: E402
from tests.helpers.original_tadaformer import OriginalTadaFormer  # noqa: E402

from hf_video.models.tada_convnext_v2 import TadaConvNextV2Config, TadaConvNextV2ForVideoClassification  # noqa: E402
from hf_video.models.tada_convnext_v2.convert_tada_convnext_v2_original_to_hf import (  # noqa: E402
    convert_original_state_dict as convert_v2_state_dict)
from hf_video.models.tada_resnet.configuration_tada_resnet import TadaResNetConfig  # noqa: E402
from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import convert_original_state_dict  # noqa: E402
from hf_video.models.tada_resnet.modeling_tada_resnet import TadaResNetForVideoClassification  # noqa: E402
from hf_video.models.tadaformer import TadaFormerConfig, TadaFormerForVideoClassification  # noqa: E402
from hf_video.models.tadaformer.convert_tadaformer_original_to_hf import (  # noqa: E402
    convert_original_state_dict as convert_former_state_dict, infer_config_kwargs as former_config_kwargs)

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# forward+backward targets per family: (tada / per_frame_2d at most, original / tada at least or None)
TARGETS = {"tada_resnet": (1.10, 3.0), "tada_convnext_v2": (1.30, 1.45), "tadaformer": (1.15, None)}
# inference (forward, eval mode): tada / per_frame_2d at most, every family (what `hf_video.predict` runs)
FORWARD_TARGET = 1.15
# TAdaConvNeXtV2-T: blocks per stage and widths; the route attention's head size (T: 48).
CONVNEXT_T_DEPTHS, CONVNEXT_T_WIDTHS, CONVNEXT_T_HEAD_DIM = (3, 3, 9, 3), (96, 192, 384, 768), 48
# TAdaFormer-B/16: width, layers, heads, patch; the route attention's head size (the authors': 64).
FORMER_B16_WIDTH, FORMER_B16_LAYERS, FORMER_B16_HEADS, FORMER_B16_PATCH, FORMER_ROUTE_HEAD_DIM = 768, 12, 12, 16, 64


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--family", default="tada_resnet", choices=sorted(TARGETS),
                        help="tada_resnet (TAda2D R50 by default), tada_convnext_v2 (TAdaConvNeXtV2-T) or tadaformer "
                             "(TAdaFormer-B/16)")
    parser.add_argument("--depth", type=int, default=50, choices=(50, 101, 152), help="TAda ResNet's depth")
    parser.add_argument("--width_divisor", type=int, default=1,
                        help="divide every width by this (a small network for quick checks; 1 = the real R50)")
    parser.add_argument("--batch_size", type=int, default=2)
    parser.add_argument("--num_frames", type=int, default=16)
    parser.add_argument("--image_size", type=int, default=112)
    parser.add_argument("--num_classes", type=int, default=51)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtypes", default="fp32", help="comma-separated autocast dtypes: fp32, bf16, fp16")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--modes", default="forward,forward_backward")
    parser.add_argument("--candidates", default="tada,per_frame_2d,original",
                        help="comma-separated subset of tada, per_frame_2d, original")
    parser.add_argument("--compile", action="store_true",
                        help="add torch.compile of tada and per_frame_2d, and count tada's graph breaks")
    parser.add_argument("--channels_last", action="store_true", help="add channels-last versions of the candidates")
    parser.add_argument("--checkpointing", action="store_true",
                        help="add tada_checkpointed: tada with activation checkpointing of every layer")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one training step of tada and per_frame_2d and list, per operator, where "
                             "tada's extra time goes")
    parser.add_argument("--output", default="benchmarks/results/model_speed.json")
    return parser.parse_args(argv)


def widths(args) -> list:
    return [width // args.width_divisor for width in (64, 256, 512, 1024, 2048)]


def build_models(args) -> dict:
    """name -> model, with `tada` converted from `original`'s (randomised, non-trivial) weights."""
    if args.family == "tada_convnext_v2":
        return build_convnext_v2_models(args)
    if args.family == "tadaformer":
        return build_tadaformer_models(args)
    torch.manual_seed(0)
    num_filters = widths(args)
    original = OriginalTada2d(args.depth, num_filters, args.num_classes)
    _randomize(original)
    config = TadaResNetConfig(depth=args.depth, stem_width=num_filters[0], hidden_sizes=num_filters[1:],
                              num_labels=args.num_classes, num_frames=args.num_frames, image_size=args.image_size)
    tada = TadaResNetForVideoClassification(config)
    tada.load_state_dict(convert_original_state_dict(original.state_dict(), tada.state_dict()))
    per_frame_config = TadaResNetConfig(**{**config.to_dict(), "temporal_adaptive": False})
    per_frame_2d = TadaResNetForVideoClassification(per_frame_config)
    # The 2D twin shares every weight it has with tada (all but the route functions and the pool branches' norms).
    shared = per_frame_2d.load_state_dict(tada.state_dict(), strict=False)
    assert not shared.missing_keys, shared.missing_keys
    models = {"tada": tada, "per_frame_2d": per_frame_2d, "original": original}
    return {name: models[name].to(args.device) for name in args.candidates.split(",")}


class PerFrameConvNext(torch.nn.Module):
    """transformers' 2D ConvNeXt on every `stride`-th frame of (B, T, C, H, W) clips, logits averaged per clip."""

    def __init__(self, config, stride: int):
        super().__init__()
        from transformers import ConvNextForImageClassification

        self.convnext, self.stride = ConvNextForImageClassification(config), stride

    def forward(self, pixel_values):
        frames = pixel_values[:, ::self.stride]
        logits = self.convnext(frames.flatten(0, 1)).logits
        return logits.view(*frames.shape[:2], -1).mean(dim=1)


def build_convnext_v2_models(args) -> dict:
    from transformers import ConvNextConfig

    torch.manual_seed(0)
    widths = [width // args.width_divisor for width in CONVNEXT_T_WIDTHS]
    head_dim = CONVNEXT_T_HEAD_DIM // args.width_divisor
    original = OriginalTadaConvNextV2(CONVNEXT_T_DEPTHS, widths, args.num_classes, head_dim=head_dim)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # the zero-initialised route outputs and pooled-term norms too
        for name, tensor in original.named_parameters():
            if name.endswith(("dwconv_rf.b.weight", "dwconv_rf.b_bias.weight", "norm_avgpool.weight")):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.02)
    config = TadaConvNextV2Config(depths=list(CONVNEXT_T_DEPTHS), hidden_sizes=widths, route_head_dim=head_dim,
                                  num_labels=args.num_classes, num_frames=args.num_frames, image_size=args.image_size)
    tada = TadaConvNextV2ForVideoClassification(config)
    tada.load_state_dict(convert_v2_state_dict(original.state_dict(), tada.state_dict()))
    floor = PerFrameConvNext(ConvNextConfig(depths=list(CONVNEXT_T_DEPTHS), hidden_sizes=widths,
                                            num_labels=args.num_classes), stride=config.stem_temporal_stride)
    models = {"tada": tada, "per_frame_2d": floor, "original": original}
    return {name: models[name].to(args.device) for name in args.candidates.split(",")}


class PerFrameClip(torch.nn.Module):
    """transformers' CLIP image encoder and a linear head on every `stride`-th frame of (B, T, C, H, W) clips, logits
    averaged per clip."""

    def __init__(self, config, num_classes: int, stride: int):
        super().__init__()
        from transformers import CLIPVisionModel

        self.clip, self.stride = CLIPVisionModel(config), stride
        self.head = torch.nn.Linear(config.hidden_size, num_classes)

    def forward(self, pixel_values):
        frames = pixel_values[:, ::self.stride]
        logits = self.head(self.clip(frames.flatten(0, 1)).pooler_output)
        return logits.view(*frames.shape[:2], -1).mean(dim=1)


def build_tadaformer_models(args) -> dict:
    from transformers import CLIPVisionConfig

    torch.manual_seed(0)
    width = FORMER_B16_WIDTH // args.width_divisor
    route_head_dim = min(FORMER_ROUTE_HEAD_DIM, width // 4)
    original = OriginalTadaFormer(width, FORMER_B16_LAYERS, FORMER_B16_HEADS, FORMER_B16_PATCH, args.image_size,
                                  args.num_classes, head_dim=route_head_dim)
    config = TadaFormerConfig(**former_config_kwargs(original.state_dict()), num_attention_heads=FORMER_B16_HEADS,
                              route_head_dim=route_head_dim, num_frames=args.num_frames)
    tada = TadaFormerForVideoClassification(config)
    tada.load_state_dict(convert_former_state_dict(original.state_dict(), tada.state_dict()))
    floor = PerFrameClip(CLIPVisionConfig(hidden_size=width, intermediate_size=4 * width,
                                          num_hidden_layers=FORMER_B16_LAYERS, num_attention_heads=FORMER_B16_HEADS,
                                          image_size=args.image_size, patch_size=FORMER_B16_PATCH),
                         args.num_classes, stride=config.tubelet_stride)
    models = {"tada": tada, "per_frame_2d": floor, "original": original}
    return {name: models[name].to(args.device) for name in args.candidates.split(",")}


def _randomize(model):
    """Give the parts that start at zero (route output conv, temporal-pool BN) and the BN statistics random values,
    so that the equivalence check exercises them."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif name.endswith(("running_mean", "bias")) or name.endswith("b_rf.b.weight") or \
                    name.endswith("b_avgpool_bn.weight"):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)


def logits_of(model, pixel_values):
    output = model(pixel_values)
    return output if isinstance(output, torch.Tensor) else output.logits


def check_equivalence(models, pixel_values) -> float | None:
    """Max |logits(tada) - logits(original)| in eval mode, fp32."""
    if "tada" not in models or "original" not in models:
        return None
    with torch.inference_mode():
        difference = (logits_of(models["tada"].eval(), pixel_values)
                      - logits_of(models["original"].eval(), pixel_values)).abs().max().item()
    if difference > 1e-3:
        raise SystemExit(f"tada and original disagree by {difference:.3g}: the comparison would be meaningless.")
    return difference


def autocast(args, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(args.device).type, dtype=dtype)


def make_step(model, pixel_values, labels, mode, autocast_context, synchronize):
    def forward():
        model.eval()
        with torch.inference_mode(), autocast_context():
            logits_of(model, pixel_values)
        synchronize()

    def forward_backward():
        model.train()
        with autocast_context():
            loss = F.cross_entropy(logits_of(model, pixel_values).float(), labels)
        loss.backward()
        model.zero_grad(set_to_none=True)
        synchronize()

    return forward if mode == "forward" else forward_backward


def saved_for_backward_bytes(model, pixel_values, labels, autocast_context) -> int:
    """Bytes of the distinct storages autograd keeps for the backward pass of one training step."""
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), autocast_context():
        loss = F.cross_entropy(logits_of(model, pixel_values).float(), labels)
    loss.backward()
    model.zero_grad(set_to_none=True)
    return sum(storages.values())


def cuda_peak_bytes(step) -> int:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    return torch.cuda.max_memory_allocated() - before


def make_inputs(args):
    generator = torch.Generator().manual_seed(2)
    pixel_values = torch.randn(args.batch_size, args.num_frames, 3, args.image_size, args.image_size,
                               generator=generator).to(args.device)
    labels = torch.randint(0, args.num_classes, (args.batch_size,), generator=generator).to(args.device)
    return pixel_values, labels


def to_channels_last(name, model, pixel_values):
    """Channels-last weights and input: 4D (frames) for our models, 3D for the original's 5D tensors."""
    import copy

    model = copy.deepcopy(model)
    if name == "original":
        return model.to(memory_format=torch.channels_last_3d), pixel_values.contiguous(
            memory_format=torch.channels_last_3d)
    # Our model folds frames into the batch; a (B, T, C, H, W) input whose frames are channels-last is the
    # channels-last 3D layout of its (B, C...) view: permute so that C is innermost per frame.
    frames_last = pixel_values.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
    with torch.no_grad():  # 4D weights channels-last, 5D ones (TAdaConvNeXtV2's Conv3d stem) channels-last 3D
        for parameter in model.parameters():
            layout = {4: torch.channels_last, 5: torch.channels_last_3d}.get(parameter.dim())
            if layout is not None:
                parameter.data = parameter.data.contiguous(memory_format=layout)
    return model, frames_last


def profile_training_step(models, inputs, labels, autocast_context, synchronize, repetitions=3) -> list:
    """Self time per operator (the fastest of `repetitions` profiled steps) for tada and per_frame_2d, sorted by
    how much more tada spends: [(operator, tada ms, per_frame_2d ms)]."""
    from torch.profiler import ProfilerActivity, profile

    self_ms = {}
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    for name in ("tada", "per_frame_2d"):
        step = make_step(models[name], inputs[name], labels, "forward_backward", autocast_context, synchronize)
        step()
        best = None
        for _ in range(repetitions):
            with profile(activities=activities) as profiler:
                step()
            totals = {event.key: event.self_device_time_total if torch.cuda.is_available()
                      else event.self_cpu_time_total for event in profiler.key_averages()}
            if best is None or sum(totals.values()) < sum(best.values()):
                best = totals
        self_ms[name] = {key: microseconds / 1000 for key, microseconds in best.items()}
    operators = set(self_ms["tada"]) | set(self_ms["per_frame_2d"])
    rows = [(operator, self_ms["tada"].get(operator, 0.0), self_ms["per_frame_2d"].get(operator, 0.0))
            for operator in operators]
    rows.sort(key=lambda row: row[2] - row[1])
    return [("TOTAL", sum(row[1] for row in rows), sum(row[2] for row in rows))] + rows


def graph_breaks(model, pixel_values) -> dict:
    import torch._dynamo

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(pixel_values)
    return {"graph_count": explanation.graph_count, "graph_break_count": explanation.graph_break_count,
            "break_reasons": [str(reason.reason) for reason in explanation.break_reasons]}


def main(argv=None):
    args = parse_arguments(argv)
    dtypes = args.dtypes.split(",")
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise SystemExit(f"--dtypes: unknown {dtype!r}; expected some of {', '.join(DTYPES)}.")
    cuda = torch.device(args.device).type == "cuda"
    synchronize = torch.cuda.synchronize if cuda else (lambda: None)

    models = build_models(args)
    pixel_values, labels = make_inputs(args)
    difference = check_equivalence(models, pixel_values)
    inputs = {name: pixel_values for name in models}
    if args.channels_last:
        for name in list(models):
            models[f"{name}_channels_last"], inputs[f"{name}_channels_last"] = to_channels_last(
                name, models[name], pixel_values)
    if args.checkpointing:
        import copy

        models["tada_checkpointed"] = copy.deepcopy(models["tada"])
        models["tada_checkpointed"].gradient_checkpointing_enable()
        inputs["tada_checkpointed"] = pixel_values
    compile_info = {}
    if args.compile:
        compile_info["tada"] = graph_breaks(models["tada"], pixel_values)
        for name in ("tada", "per_frame_2d"):
            if name in models:
                models[f"{name}_compiled"] = torch.compile(models[name])
                inputs[f"{name}_compiled"] = pixel_values

    results = {"settings": vars(args), "tada_minus_original_max_abs_logit": difference, "timings": {},
               "compile": compile_info, "memory": {}}
    rows = []
    for dtype_name in dtypes:
        autocast_context = lambda dtype=DTYPES[dtype_name]: autocast(args, dtype)  # noqa: E731
        for mode in args.modes.split(","):
            steps = {name: make_step(model, inputs[name], labels, mode, autocast_context, synchronize)
                     for name, model in models.items()}
            for name in [name for name in steps if name.endswith("_compiled")]:  # compile outside the timed loop
                start = time.perf_counter()
                steps[name]()
                compile_info[f"compile_seconds_{name}_{mode}_{dtype_name}"] = time.perf_counter() - start
            seconds = run_interleaved(steps, args.repetitions, args.warmup)
            for name, samples in seconds.items():
                summary = summarize(samples)
                summary["clips_per_second"] = args.batch_size / summary["median"]
                results["timings"][f"{name}/{mode}/{dtype_name}"] = summary
                rows.append([name, mode, dtype_name, f"{summary['median'] * 1000:.0f}", f"{summary['min'] * 1000:.0f}",
                             f"{summary['max'] * 1000:.0f}", f"{summary['clips_per_second']:.2f}"])
    architecture = {"tada_resnet": f"TAda R{args.depth}", "tada_convnext_v2": "TAdaConvNeXtV2-T",
                    "tadaformer": "TAdaFormer-B/16"}[args.family]
    print(f"{architecture} (widths / {args.width_divisor}), batch {args.batch_size} x {args.num_frames} x "
          f"{args.image_size}^2 on {args.device}; {args.repetitions} interleaved repetitions; "
          f"max |logits(tada) - logits(original)| = {difference}\n")
    print_table(["candidate", "mode", "dtype", "median ms", "min ms", "max ms", "clips/s"], rows)
    for dtype_name in dtypes:
        autocast_context = lambda dtype=DTYPES[dtype_name]: autocast(args, dtype)  # noqa: E731
        for name, model in models.items():
            if name.endswith("_compiled"):
                continue
            memory = {"saved_for_backward_bytes": saved_for_backward_bytes(model, inputs[name], labels,
                                                                           autocast_context)}
            if cuda:
                memory["cuda_peak_step_bytes"] = cuda_peak_bytes(make_step(
                    model, inputs[name], labels, "forward_backward", autocast_context, synchronize))
            results["memory"][f"{name}/{dtype_name}"] = memory

    print()
    memory_columns = sorted({key for memory in results["memory"].values() for key in memory})
    print_table(["candidate / dtype", *(column.removesuffix("_bytes") for column in memory_columns)],
                [[name, *(f"{memory[column] / 2**20:.0f} MiB" if column in memory else "-"
                          for column in memory_columns)] for name, memory in results["memory"].items()])
    results["ratios"] = ratios(results["timings"], dtypes, args.modes.split(","), TARGETS[args.family])
    print()
    print_table(["ratio (per repetition)", "median", "min", "max", "target"],
                [[name, *(f"{value[key]:.3f}" for key in ("value", "min", "max")), value.get("verdict", "")]
                 for name, value in results["ratios"].items()])
    if compile_info:
        print(f"\ntorch.compile: {json.dumps(compile_info, indent=1)}")
    if args.profile:
        profile = profile_training_step(models, inputs, labels, lambda: autocast(args, DTYPES[dtypes[0]]),
                                        synchronize)
        results["profile_ms"] = [{"operator": name, "tada": tada, "per_frame_2d": floor}
                                 for name, tada, floor in profile]
        print(f"\nWhere tada's extra training-step time goes ({dtypes[0]}, self time per operator, fastest of 3 "
              f"profiled steps):")
        print_table(["operator", "tada ms", "per_frame_2d ms", "extra ms"],
                    [[name, f"{tada:.1f}", f"{floor:.1f}", f"{tada - floor:+.1f}"] for name, tada, floor in profile
                     if name == "TOTAL" or abs(tada - floor) >= 1.0])
    write_json(args.output, results)


def ratios(timings, dtypes, modes, targets) -> dict:
    """Time ratios (median of the per-repetition ratios); the two with targets are checked."""
    found = {}
    over_2d, original_over_tada = targets
    pairs = [("tada", "per_frame_2d", over_2d, True),
             ("original", "tada", original_over_tada, False),
             ("tada_compiled", "tada", None, True), ("tada_compiled", "per_frame_2d_compiled", None, True),
             ("tada_compiled", "per_frame_2d", None, True), ("tada_channels_last", "tada", None, True),
             ("per_frame_2d_channels_last", "per_frame_2d", None, True),
             ("tada_checkpointed", "tada", None, True)]
    for dtype in dtypes:
        for mode in modes:
            for numerator, denominator, target, at_most in pairs:
                top, bottom = timings.get(f"{numerator}/{mode}/{dtype}"), timings.get(f"{denominator}/{mode}/{dtype}")
                if top is None or bottom is None:
                    continue
                entry = paired_ratio(top["samples"], bottom["samples"])
                if target is not None and mode == "forward_backward":
                    entry["verdict"] = verdict(entry["value"], target, at_most)
                elif (numerator, denominator, mode) == ("tada", "per_frame_2d", "forward"):
                    entry["verdict"] = verdict(entry["value"], FORWARD_TARGET, at_most=True)
                found[f"{numerator} / {denominator} ({mode}, {dtype})"] = entry
    return found


if __name__ == "__main__":
    main()

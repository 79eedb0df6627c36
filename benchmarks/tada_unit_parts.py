"""TAda unit parts: the elementwise work a TAda unit adds to a per-frame 2D convolution, as the model runs it and as
the alternatives we tried would, forward+backward, side by side (issue 14, item 5).

    python benchmarks/tada_unit_parts.py                  # R50 at 2 x 16 x 112^2: the four stages' shapes, fp32
    python benchmarks/tada_unit_parts.py --device cuda    # the same on a GPU (what gpu_check.sh runs)

Parts, on a batch of B x T frames with each ResNet-50 stage's channels and size:
- `tail`: `BN(y) + BN_pool(temporal_pool(y))` on the 3x3 convolution's output y. `model`: the model's code;
  `algebraic`: one per-channel affine combination `a1 * y + a2 * pool(y) + c` from both BatchNorms' batch
  statistics, with the backward written by hand; `pool_without_copy`: the pool's first sum written out of place
  instead of into a copy of y (`torch.add(..., out=slice)`, which `torch.compile` cannot trace without a graph break).
- `route`: the route function. `model`: its matrix-product form with the broadcast mean backward; `conv1d`: the
  same weights through `F.conv1d` on (B, C, T) and autograd's `mean` (the original's form, which the model used).
- `calibration`: `x * alpha` per frame and channel. `model`: autograd; `hand_backward`: the calibration's gradient as
  one batched dot product per frame and channel (`bmm`) instead of a product and a sum.

Every alternative is first checked against `model` (output and every gradient; the largest difference is reported).
Ratios are alternative / model time, repetition by repetition: below 1, the alternative is faster.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import (  # noqa: E402
    argument_parser, paired_ratio, print_table, run_interleaved, summarize, write_json)

from hf_video.models.tada_ops import temporal_average_pool  # noqa: E402
from hf_video.models.tada_resnet.modeling_tada_resnet import TadaResNetRouteFunction  # noqa: E402

# (channels, height = width) of the 3x3 convolutions' outputs in the four stages of R50 at 112^2.
STAGES = ((64, 28), (128, 14), (256, 7), (512, 4))
POOL_KERNEL, EPS = 3, 1e-5


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch_size", type=int, default=2)
    parser.add_argument("--num_frames", type=int, default=16)
    parser.add_argument("--stages", default="0,1,2,3", help="which of the four stage shapes, comma-separated")
    parser.add_argument("--iterations", type=int, default=5, help="forward+backward passes per timed sample")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--output", default="benchmarks/results/tada_unit_parts.json")
    return parser.parse_args(argv)


def pool_without_copy(frames, num_frames):
    """The temporal pool (kernel 3), its first sum written out of place rather than into a copy of the frames."""
    clips = frames.reshape(-1, num_frames, frames[0].numel())
    pooled = torch.empty_like(clips)
    pooled[:, :1] = clips[:, :1]
    torch.add(clips[:, 1:], clips[:, :-1], out=pooled[:, 1:])
    pooled[:, :-1] += clips[:, 1:]
    return pooled.div_(POOL_KERNEL).view(frames.shape)


class _PoolWithoutCopy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, frames, num_frames):
        ctx.num_frames = num_frames
        return pool_without_copy(frames, num_frames)

    @staticmethod
    def backward(ctx, gradient):  # the pool is its own adjoint
        return _PoolWithoutCopy.apply(gradient, ctx.num_frames), None


def _per_channel(values):  # (C,) against (N, C, H, W)
    return values[:, None, None]


def _per_frame_and_channel(values):  # (N, C) against (N, C, H, W)
    return values[:, :, None, None]


class _AlgebraicTail(torch.autograd.Function):
    """a1 * y + a2 * p + c, p = pool(y), with a and c from both BatchNorms' batch statistics (training mode)."""

    @staticmethod
    def forward(ctx, y, num_frames, weight, bias, pool_weight, pool_bias):
        p = pool_without_copy(y, num_frames)
        variance, mean = torch.var_mean(y, dim=(0, 2, 3), unbiased=False)
        pool_variance, pool_mean = torch.var_mean(p, dim=(0, 2, 3), unbiased=False)
        scale, pool_scale = (variance + EPS).rsqrt(), (pool_variance + EPS).rsqrt()
        shift = bias + pool_bias - weight * scale * mean - pool_weight * pool_scale * pool_mean
        output = torch.addcmul(_per_channel(shift), y, _per_channel(weight * scale))
        output.addcmul_(p, _per_channel(pool_weight * pool_scale))
        ctx.save_for_backward(y, p, weight, pool_weight, mean, pool_mean, scale, pool_scale)
        ctx.num_frames = num_frames
        return output

    @staticmethod
    def backward(ctx, gradient):
        y, p, weight, pool_weight, mean, pool_mean, scale, pool_scale = ctx.saved_tensors
        count = gradient.numel() // gradient.shape[1]
        gradient_sum = gradient.sum((0, 2, 3))

        def batch_norm_terms(x, weight, mean, scale):
            """d(weight) and the per-channel (gradient, x, constant) coefficients of d(input)."""
            weight_gradient = scale * ((gradient * x).sum((0, 2, 3)) - mean * gradient_sum)
            a = weight * scale
            u = -a * scale * weight_gradient / count
            return weight_gradient, a, u, -a * gradient_sum / count - u * mean

        weight_gradient, a, u, v = batch_norm_terms(y, weight, mean, scale)
        pool_weight_gradient, pool_a, pool_u, pool_v = batch_norm_terms(p, pool_weight, pool_mean, pool_scale)
        pooled_gradient = torch.addcmul(_per_channel(pool_v), gradient, _per_channel(pool_a))
        pooled_gradient.addcmul_(p, _per_channel(pool_u))
        y_gradient = torch.addcmul(_per_channel(v), gradient, _per_channel(a)).addcmul_(y, _per_channel(u))
        y_gradient += pool_without_copy(pooled_gradient, ctx.num_frames)
        return y_gradient, None, weight_gradient, gradient_sum, pool_weight_gradient, gradient_sum


class _CalibrationWithHandBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, frames, calibration):
        ctx.save_for_backward(frames, calibration)
        return frames * _per_frame_and_channel(calibration)

    @staticmethod
    def backward(ctx, gradient):
        frames, calibration = ctx.saved_tensors
        rows = calibration.numel()
        calibration_gradient = torch.bmm(gradient.reshape(rows, 1, -1), frames.reshape(rows, -1, 1))
        return gradient * _per_frame_and_channel(calibration), calibration_gradient.view(calibration.shape)


def route_with_conv1d(route: TadaResNetRouteFunction, frames, num_frames):
    channels = frames.shape[1]
    per_frame = frames.mean(dim=(2, 3)).view(-1, num_frames, channels).transpose(1, 2)  # (B, C, T)
    per_clip = per_frame.mean(dim=2, keepdim=True)
    hidden = route.reduce(per_frame + route.global_projection(per_clip))
    calibration = route.expand(route.activation(route.normalization(hidden))) + 1
    return calibration.transpose(1, 2).reshape(-1, channels)


def parts(channels: int, num_frames: int, device: str) -> dict:
    """part -> (modules whose parameter gradients are compared, {candidate: function of the inputs})."""
    norm, pool_norm = torch.nn.BatchNorm2d(channels, eps=EPS), torch.nn.BatchNorm2d(channels, eps=EPS)
    route = TadaResNetRouteFunction(channels, 4, (3, 3))
    generator = torch.Generator().manual_seed(channels)
    with torch.no_grad():  # non-trivial values where the model starts at zero or one
        for parameter in [*norm.parameters(), *pool_norm.parameters(), route.expand.weight]:
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5 + 0.5)
    for module in (norm, pool_norm, route):
        module.to(device)
    return {
        "tail": ([norm, pool_norm], {
            "model": lambda y: norm(y).add_(pool_norm(temporal_average_pool(y, num_frames, POOL_KERNEL))),
            "algebraic": lambda y: _AlgebraicTail.apply(y, num_frames, norm.weight, norm.bias, pool_norm.weight,
                                                        pool_norm.bias),
            "pool_without_copy": lambda y: norm(y).add_(pool_norm(_PoolWithoutCopy.apply(y, num_frames))),
        }),
        "route": ([route], {
            "model": lambda frames: route(frames, num_frames),
            "conv1d": lambda frames: route_with_conv1d(route, frames, num_frames),
        }),
        "calibration": ([], {
            "model": lambda frames, calibration: frames * _per_frame_and_channel(calibration),
            "hand_backward": _CalibrationWithHandBackward.apply,
        }),
    }


def inputs_of(part: str, frames_shape: tuple, generator, device: str) -> list:
    inputs = [torch.randn(frames_shape, generator=generator) * 2 + 0.3]
    if part == "calibration":
        inputs.append(torch.rand(frames_shape[:2], generator=generator) + 0.5)
    return [tensor.to(device) for tensor in inputs]


def forward_backward(function, inputs, modules, upstream):
    """Output, input gradients and parameter gradients of one forward+backward pass."""
    leaves = [tensor.detach().clone().requires_grad_() for tensor in inputs]
    for module in modules:
        module.zero_grad(set_to_none=True)
    output = function(*leaves)
    output.backward(upstream)
    return [output.detach(), *(leaf.grad for leaf in leaves),
            *(parameter.grad for module in modules for parameter in module.parameters())]


def main(argv=None):
    args = parse_arguments(argv)
    results = {"settings": vars(args), "parts": {}}
    rows = []
    for stage in map(int, args.stages.split(",")):
        channels, size = STAGES[stage]
        frames_shape = (args.batch_size * args.num_frames, channels, size, size)
        for part, (modules, candidates) in parts(channels, args.num_frames, args.device).items():
            generator = torch.Generator().manual_seed(stage)
            inputs = inputs_of(part, frames_shape, generator, args.device)
            upstream_shape = (frames_shape[0], channels) if part == "route" else frames_shape
            upstream = torch.randn(upstream_shape, generator=generator).to(args.device)
            reference = forward_backward(candidates["model"], inputs, modules, upstream)
            differences = {}
            for name, function in candidates.items():
                got = forward_backward(function, inputs, modules, upstream)
                differences[name] = max((a - b).abs().max().item() / max(1.0, b.abs().max().item())
                                        for a, b in zip(got, reference))

            def timed(function):
                def run():
                    for _ in range(args.iterations):
                        forward_backward(function, inputs, modules, upstream)
                    if args.device.startswith("cuda"):
                        torch.cuda.synchronize()
                return run

            seconds = run_interleaved({name: timed(function) for name, function in candidates.items()},
                                      args.repetitions)
            key = f"{part}/{channels}x{size}^2"
            entry = results["parts"][key] = {"timings": {}, "ratios": {}, "max_relative_difference": differences}
            for name, samples in seconds.items():
                entry["timings"][name] = summarize([sample / args.iterations for sample in samples])
                ratio = paired_ratio(samples, seconds["model"])
                if name != "model":
                    entry["ratios"][f"{name} / model"] = ratio
                shown_ratio = "-" if name == "model" else \
                    f"{ratio['value']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})"
                rows.append([key, name, f"{entry['timings'][name]['median'] * 1000:.2f}", shown_ratio,
                             f"{differences[name]:.1e}"])
    print(f"TAda unit parts, {args.batch_size} x {args.num_frames} frames per batch, forward+backward on "
          f"{args.device} ({torch.get_num_threads()} CPU threads), {args.repetitions} interleaved repetitions\n")
    print_table(["part / shape", "candidate", "ms (median)", "/ model (median, min-max)", "max rel. difference"],
                rows)
    write_json(args.output, results)


if __name__ == "__main__":
    main()

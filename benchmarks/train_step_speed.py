"""End to end: do the loaders keep up with the model? Clips/s of the real fine-tuning step fed by N loader processes,
against the model-only step at the same batch.

    python benchmarks/train_step_speed.py                              # CPU: a small TAda ResNet-18, 1 and 2 workers
    python benchmarks/train_step_speed.py --device cuda --depth 50 --num_frames 16 --image_size 112 \\
        --batch_size 32 --workers 8,16 --dtype bf16                    # what gpu_check.sh runs

The step is the Trainer's: a batch from a `DataLoader` over HMDB51-like videos (`hmdb51_like.py`) with
`VideoClipTransform` (decoding, sampling, augmentation; prepared rows with their stored packet lists), collated by
`collate_clips`, pinned and copied to the device, finished there by `DeviceAugmentation` in the `device` mode, then
forward (autocast in `--dtype`), backward and an SGD step. The model-only step runs the same step on one real batch
already on the device (measured before and after the fed runs). Two loader modes: `loader` (the whole augmentation
in the loader processes, the default) and `device` (`--augment_on_device`: loaders decode and cut the crop; resize,
normalisation and flip on the device).

Each configuration runs `--warmup` steps, then `--steps` timed steps; the ratio (fed / model-only) says what binds:
about 1 when the model does, lower when the loaders do (target: >= 0.9 on a GPU).
"""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import argument_parser, machine_description, print_table, write_json  # noqa: E402
from hmdb51_like import hmdb51_like_videos  # noqa: E402

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification  # noqa: E402
from hf_video.clips.clip_settings import ClipSettings  # noqa: E402
from hf_video.clips.clip_transform import VideoClipTransform  # noqa: E402
from hf_video.clips.collate import collate_clips  # noqa: E402
from hf_video.clips.device_augmentation import DeviceAugmentation, move_batch  # noqa: E402
from hf_video.clips.video_io import probe_video  # noqa: E402

TARGET_FED_OVER_MODEL_ONLY = 0.9  # on a GPU


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--work_dir", default="benchmarks/work")
    parser.add_argument("--num_videos", type=int, default=48)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--depth", type=int, default=18)
    parser.add_argument("--num_frames", type=int, default=8)
    parser.add_argument("--image_size", type=int, default=56)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--workers", default="1,2", help="loader processes to try, comma-separated")
    parser.add_argument("--modes", default="loader,device", help="loader, device (augment_on_device) or both")
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--channels_last", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (the Trainer's torch_compile)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--output", default="benchmarks/results/train_step_speed.json")
    return parser.parse_args(argv)


class PreparedRows(torch.utils.data.Dataset):
    """Rows as the HMDB51 builder prepares them (path, frame count, rate, label, packet list), cycled to `length`,
    through a transform: what `Dataset.set_transform` does, without needing `datasets`."""

    def __init__(self, rows: list, length: int, transform):
        self.rows, self.length, self.transform = rows, length, transform

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        row = self.rows[index % len(self.rows)]
        batch = self.transform({name: [value] for name, value in row.items()})
        return {name: values[0] for name, values in batch.items()}


def prepared_rows(videos: list) -> list:
    rows = []
    for label, video in enumerate(videos):
        info = probe_video(video["video"])
        rows.append({"video": video["video"], "num_frames": info.num_frames, "fps": info.fps, "label": label % 51,
                     "packets": info.packets})
    return rows


def make_model(args) -> torch.nn.Module:
    config = TadaResNetConfig(depth=args.depth, num_labels=51, num_frames=args.num_frames, image_size=args.image_size)
    model = TadaResNetForVideoClassification(config).to(args.device).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    return torch.compile(model) if args.compile else model


class Step:
    """One fine-tuning step (forward under autocast, backward, SGD) on a batch already on the device."""

    def __init__(self, model, args):
        self.model, self.device = model, torch.device(args.device)
        self.optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        self.autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=args.dtype == "bf16")

    def __call__(self, batch: dict) -> None:
        with self.autocast:
            loss = self.model(**batch).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def model_only_rate(step: Step, batch: dict, args) -> float:
    for _ in range(2 * args.warmup):
        step(batch)
    synchronize(args.device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step(batch)
    synchronize(args.device)
    return args.steps * args.batch_size / (time.perf_counter() - start)


def fed_rate(step: Step, rows: list, settings: ClipSettings, workers: int, mode: str, args) -> float:
    on_device = mode == "device"
    transform = VideoClipTransform(settings, train=True, augment_on_device=on_device)
    finish = DeviceAugmentation(settings) if on_device else (lambda batch: batch)
    total = (args.warmup + args.steps) * args.batch_size
    loader = torch.utils.data.DataLoader(
        PreparedRows(rows, total, transform), batch_size=args.batch_size, shuffle=True, num_workers=workers,
        collate_fn=collate_clips, pin_memory=args.device.startswith("cuda"), drop_last=True,
        persistent_workers=False, prefetch_factor=4 if workers else None)
    batches = iter(loader)
    for _ in range(args.warmup):  # also starts the workers and fills their queues
        step(finish(move_batch(next(batches), args.device, non_blocking=True)))
    synchronize(args.device)
    start = time.perf_counter()
    for batch in batches:
        step(finish(move_batch(batch, args.device, non_blocking=True)))
    synchronize(args.device)
    return args.steps * args.batch_size / (time.perf_counter() - start)


def main(argv=None):
    args = parse_arguments(argv)
    torch.manual_seed(0)
    videos = hmdb51_like_videos(args.work_dir, args.num_videos)
    rows = prepared_rows(videos)
    settings = ClipSettings(num_frames=args.num_frames, image_size=args.image_size)
    model = make_model(args)
    step = Step(model, args)
    # The model-only step takes a real batch, as the loaders make it: its memory layout (the clips come out of the
    # crops channels-last) changes the convolutions' speed on a GPU, so random contiguous input would not compare.
    batch = next(iter(torch.utils.data.DataLoader(
        PreparedRows(rows, args.batch_size, VideoClipTransform(settings, train=True)), batch_size=args.batch_size,
        collate_fn=collate_clips)))
    batch = move_batch(batch, args.device)
    model_only_before = model_only_rate(step, batch, args)
    fed = {}
    for mode in args.modes.split(","):
        for workers in (int(count) for count in args.workers.split(",")):
            fed[mode, workers] = fed_rate(step, rows, settings, workers, mode, args)
    # Measured before and after the fed steps: a device still warming up (clocks, allocator, autotuning) would
    # otherwise flatter the loaders. The faster of the two is the reference.
    model_only_after = model_only_rate(step, batch, args)
    model_only = max(model_only_before, model_only_after)
    results = {"settings": vars(args), "machine": machine_description(), "model_only_clips_per_second": model_only,
               "model_only_before_and_after": [model_only_before, model_only_after], "fed": {}}
    rows_out = [["model only (before / after)", "-", f"{model_only_before:.1f} / {model_only_after:.1f}", "1.00", ""]]
    for (mode, workers), rate in fed.items():
        ratio = rate / model_only
        binds = "model" if ratio >= TARGET_FED_OVER_MODEL_ONLY else "loaders"
        results["fed"][f"{mode}/{workers}"] = {"clips_per_second": rate, "ratio": ratio, "bound_by": binds}
        rows_out.append([f"fed, augmentation in the {mode}", str(workers), f"{rate:.1f}", f"{ratio:.2f}", binds])
    print(f"TAda ResNet-{args.depth}, {args.num_frames} x {args.image_size}^2, batch {args.batch_size}, {args.dtype}"
          f"{', channels-last' if args.channels_last else ''}{', compiled' if args.compile else ''} on {args.device}; "
          f"{len(videos)} HMDB51-like videos; "
          f"{args.steps} timed steps after {args.warmup}\n")
    print_table(["step", "loader processes", "clips/s", "/ model only", f"binds (< {TARGET_FED_OVER_MODEL_ONLY})"],
                rows_out)
    write_json(args.output, results)


if __name__ == "__main__":
    main()

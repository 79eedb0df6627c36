"""Prediction over many videos: `python -m hf_video.predict` with 1 and 2 loader processes against transformers'
pipeline called in a loop, and its memory over a long run.

    python benchmarks/predict_speed.py                          # 96 videos timed, 5,000 for memory
    python benchmarks/predict_speed.py --num_videos 24 --memory_videos 300 --repetitions 1

Speed: the same HMDB51-like videos (`hmdb51_like.py`) through the same saved model (a small TAda ResNet by default:
decoding matters as much as the model, as on a GPU) by each candidate, interleaved, `--repetitions` rounds; videos
per second, and each predict run's ratio to the pipeline loop of its round (both include loading the model).
Memory: one predict process over `--memory_videos` rows (the videos listed again and again), its resident memory
and its loader's read from /proc every second against the rows written; growth is the last reading minus the one
after `--warmup_videos` (target: at most 50 MB: flat).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import (argument_parser, paired_ratio, print_table, run_interleaved, summarize,  # noqa: E402
                              verdict, write_json)
from hmdb51_like import hmdb51_like_videos  # noqa: E402

TARGET_GROWTH_MB = 50


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--work_dir", default="benchmarks/work", help="where the generated videos are kept")
    parser.add_argument("--num_videos", type=int, default=96, help="videos each timed candidate classifies")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--memory_videos", type=int, default=5000, help="rows of the memory run (0: no memory run)")
    parser.add_argument("--warmup_videos", type=int, default=500)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--model", help="a model folder to use (default: a small TAda ResNet written here)")
    parser.add_argument("--output", default="benchmarks/results/predict_speed.json")
    return parser.parse_args(argv)


def small_model(folder: Path) -> str:
    """A TAda ResNet-18 of `make run`'s size with its video processor (8 frames, 32 x 32, one view)."""
    from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor

    if not (folder / "config.json").is_file():
        config = TadaResNetConfig(depth=18, stem_width=16, hidden_sizes=[16, 32, 64, 128], num_frames=8,
                                  image_size=32, num_labels=8)
        TadaResNetForVideoClassification(config).save_pretrained(folder)
        TadaVideoProcessor(num_frames=8, sample_interval=2, image_size=32).save_pretrained(folder)
    return str(folder)


def predict_run(model: str, paths: list, num_workers: int, batch_size: int, work: Path):
    from hf_video.predict import main as predict

    def run():
        output = work / f"predict_{num_workers}_{time.perf_counter_ns()}.jsonl"
        predict([*paths, "--model", model, "--output", str(output), "--num_workers", str(num_workers),
                 "--batch_size", str(batch_size), "--device", "cpu"])
        output.unlink()
    return run


def pipeline_loop(model: str, paths: list):
    """The pipeline built and called once per video, as a user would loop over files (built inside the timing, as
    predict loads its model inside it)."""
    import hf_video  # noqa: F401
    from transformers import pipeline

    def run():
        classifier = pipeline("video-classification", model=model, device="cpu")
        for path in paths:
            classifier(path, top_k=5)
    return run


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (the loader processes)."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{candidate}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def _children(pid: int) -> list:
    """Every descendant of `pid`, found by the parent each process names (a thread's children are not all listed
    under the main thread's)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def memory_run(model: str, paths: list, rows: int, warmup: int, batch_size: int, work: Path) -> dict:
    """Readings (rows written -> bytes) of one predict process over `rows` rows, and the growth after warm-up."""
    listing = work / "memory_list.csv"
    with open(listing, "w", encoding="utf-8") as file:
        file.write("path,start,end\n")
        for index in range(rows):  # the same videos again, each row its own window: nothing is skipped
            file.write(f"{paths[index % len(paths)]},0,{1000 + index}\n")
    output = work / "memory.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "hf_video.predict", str(listing), "--model", model, "--output",
                                str(output), "--num_workers", "1", "--batch_size", str(batch_size), "--device", "cpu"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    readings = []
    while process.poll() is None:
        time.sleep(1)
        done = sum(1 for _ in open(output, encoding="utf-8")) if output.exists() else 0
        resident = _tree_rss_bytes(process.pid)
        if resident and process.poll() is None:  # a reading of a process that has just ended says nothing
            readings.append((done, resident))
    if process.returncode != 0:
        raise SystemExit(f"the memory run failed with status {process.returncode}")
    if not readings:
        raise SystemExit(f"the memory run ended before its first reading: give --memory_videos more than {rows}")
    # While rows are still being written: at the end the loader process exits before the main one does.
    after_warmup = [rss for done, rss in readings if warmup <= done < rows] or [readings[-1][1]]
    return {"rows": rows, "readings": readings, "growth_bytes": after_warmup[-1] - after_warmup[0],
            "peak_excursion_bytes": max(after_warmup) - after_warmup[0]}


def main(argv=None):
    arguments = parse_arguments(argv)
    work = Path(arguments.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    videos = hmdb51_like_videos(work, arguments.num_videos)
    paths = [video["video"] for video in videos]
    model = arguments.model or small_model(work / "predict_model")
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        scratch = Path(scratch)
        candidates = {"predict, 1 loader": predict_run(model, paths, 1, arguments.batch_size, scratch),
                      "predict, 2 loaders": predict_run(model, paths, 2, arguments.batch_size, scratch),
                      "pipeline loop": pipeline_loop(model, paths)}
        seconds = run_interleaved(candidates, arguments.repetitions, warmup=1)
        memory = (memory_run(model, paths, arguments.memory_videos, arguments.warmup_videos, arguments.batch_size,
                             scratch) if arguments.memory_videos else None)
    speed = {name: {**summarize(samples), "videos_per_second": len(paths) / summarize(samples)["median"]}
             for name, samples in seconds.items()}
    ratios = {name: paired_ratio(seconds["pipeline loop"], samples) for name, samples in seconds.items()
              if name != "pipeline loop"}
    rows = [(name, f"{result['videos_per_second']:.2f} videos/s", f"{result['median']:.2f} s") for name, result in
            speed.items()]
    rows += [(f"{name} / pipeline loop", f"{ratio['value']:.2f}x faster", "") for name, ratio in ratios.items()]
    if memory is not None:
        growth_mb = memory["growth_bytes"] / 2**20
        rows.append((f"memory over {memory['rows']} rows", f"growth {growth_mb:.1f} MB after warm-up",
                     verdict(growth_mb, TARGET_GROWTH_MB, at_most=True)))
    print_table(["candidate", "rate", "median"], rows)
    write_json(arguments.output, {"videos": len(paths), "speed": speed, "speedup_over_pipeline": ratios,
                                  "memory": memory, "model": model})
    return json.loads(Path(arguments.output).read_text())


if __name__ == "__main__":
    main()

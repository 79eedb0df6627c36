"""What every benchmark script shares: interleaved repetitions, summary statistics, the printed table, the JSON
file, and a description of the machine the figures came from."""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A parser whose --help shows the script's docstring: its first paragraph, then the rest."""
    summary, _, details = doc.partition("\n\n")
    return argparse.ArgumentParser(description=summary, epilog=details,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def run_interleaved(candidates: dict, repetitions: int, warmup: int = 1) -> dict:
    """Call every candidate (name -> zero-argument callable) `warmup` times, then `repetitions` rounds in which each
    runs once, in turn, so that a slow spell of a shared machine hits all of them alike. Returns name -> seconds."""
    for _ in range(warmup):
        for run in candidates.values():
            run()
    seconds = {name: [] for name in candidates}
    for _ in range(repetitions):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def summarize(samples: list) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def paired_ratio(numerator: list, denominator: list) -> dict:
    """Ratio of two interleaved candidates, repetition by repetition (each pair ran back to back, under the same
    load), summarised: steadier on a shared machine than the ratio of two medians."""
    ratios = [top / bottom for top, bottom in zip(numerator, denominator)]
    return {"value": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
            "ratio_of_medians": statistics.median(numerator) / statistics.median(denominator)}


def machine_description() -> dict:
    import torch

    description = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        description["gpu"] = torch.cuda.get_device_name()
    return description


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def print_table(headers: list, rows: list) -> None:
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                        for column, (cell, width) in enumerate(zip(row, widths))))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def write_json(path, results: dict) -> None:
    """Write the results with the command line and the machine; written whole through a temporary file, so an
    interrupted run never leaves a truncated JSON that looks complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine_description(),
               **results}
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    temporary.replace(path)
    print(f"\nwrote {path}")


def verdict(value: float, target: float, at_most: bool) -> str:
    holds = value <= target if at_most else value >= target
    return f"{'holds' if holds else 'MISSES'} ({'<=' if at_most else '>='} {target:g})"

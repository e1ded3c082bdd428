"""Resident memory of a loaded NgcfPredictor, one fresh process per checkpoint.

    python benchmarks/predictor_memory.py --checkpoint data/checkpoints/ngcf-ml100k.pt
    python benchmarks/predictor_memory.py --synthetic 10x --cache-dir /tmp/ngcf-bench

Each checkpoint is loaded in a child process that has imported everything first,
so "loaded MiB" is what the predictor itself keeps resident: the RSS after
``NgcfPredictor.load`` (and one request, which touches every lazily mapped page)
minus the RSS before it, read from /proc/self/status. Synthetic checkpoints are
the one-epoch models of benchmarks/ngcf_latency.py (built, or reused from
``--cache-dir``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ngcf_latency  # noqa: E402

from pytorch_models.ngcf.predictor import NgcfPredictor  # noqa: E402


def resident_mib() -> float:
    """VmRSS of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(path: str, queue: multiprocessing.Queue) -> None:
    """Load ``path`` and put (RSS before, RSS after, items) on the queue."""
    import torch

    torch.set_num_threads(1)
    before = resident_mib()
    predictor = NgcfPredictor.load(path)
    predictor.recommend(predictor.item_ids[:10].tolist(), k=10)
    queue.put((before, resident_mib(), int(predictor.n_items)))


def in_child(path: str) -> tuple[float, float, int]:
    context = multiprocessing.get_context("spawn")  # nothing inherited
    queue = context.Queue()
    child = context.Process(target=measure, args=(path, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", default=[])
    parser.add_argument(
        "--synthetic", action="append", default=[], choices=ngcf_latency.SIZES
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    rows = [(Path(path).name, path) for path in args.checkpoint]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.cache_dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.synthetic:
            data, _ = ngcf_latency.synthetic_interactions(
                *ngcf_latency.SIZES[size], seed=args.seed
            )
            path = ngcf_latency.one_epoch_checkpoint(
                data, folder, f"{size}-seed{args.seed}"
            )
            rows.append((f"synthetic {size} (1-epoch checkpoint)", str(path)))
        print("| checkpoint | items | file MiB | RSS before MiB | loaded MiB |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, path in rows:
            before, after, n_items = in_child(path)
            size_mib = Path(path).stat().st_size / 2**20
            print(
                f"| {name} | {n_items:,} | {size_mib:.1f} | {before:.0f} | "
                f"{after - before:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

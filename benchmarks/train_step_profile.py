"""Where one NGCF training step's time goes, part by part, at a given graph size.

    python -m benchmarks.train_step_profile --size original --threads 1

Builds the synthetic graph (benchmarks/train_ngcf_scale.py's sizes), takes the
default TrainConfig's batch for it, numbers the nodes as training does (by
descending degree; ``--id-order`` keeps id order) and runs ``--steps`` steps
exactly as an epoch does (edge dropout, the forward pass over the whole graph, the hard
negative draw, the BPR loss, the L2 term, the backward pass, Adam), timing each
part; the first step is a warm-up and not counted. ``--clock cpu`` times CPU
seconds of this process (steadier on a busy machine), ``wall`` wall seconds.
The last line splits the CPU time into user and kernel time and counts the
minor page faults (fresh pages the kernel had to zero-fill).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="original")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument(
        "--id-order",
        action="store_true",
        help="number nodes in id order, not training's hub order (TrainConfig)",
    )
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    sys.path.insert(0, str(ROOT))
    import torch

    from benchmarks.ngcf_latency import synthetic_interactions
    from benchmarks.train_ngcf_scale import SIZES
    from pytorch_models import training
    from pytorch_models.allocator import reuse_freed_memory
    from pytorch_models.bpr import bpr_loss
    from pytorch_models.graph import edge_dropout
    from pytorch_models.records import TrainConfig

    torch.set_num_threads(args.threads)
    data, _ = synthetic_interactions(*SIZES[args.size], seed=0)
    empty = type(data).from_pairs([], [])
    encoded = training._encode(data, empty, empty)
    config = TrainConfig(hub_order=not args.id_order)
    n_users, n_items = encoded.user_ids.size, encoded.item_ids.size
    if config.hub_order:  # as train_ngcf numbers them
        order = training._NodeOrder.by_degree(*encoded.train, n_users, n_items)
        encoded = order.encode(encoded)
    graph = training._Graph.build(*encoded.train, n_users, n_items, config)
    model = training.NGCF(n_users, n_items, config.model).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(0)
    batch = training.epoch_batch_size(graph.pairs[0].numel(), config)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    totals: dict[str, float] = {}

    def lap(name: str, since: float, count: bool) -> float:
        now = clock()
        if count:
            totals[name] = totals.get(name, 0.0) + now - since
        return now

    with reuse_freed_memory():  # as train_ngcf does
        for step in range(args.steps + 1):
            count = step > 0
            if step == 1:
                usage = resource.getrusage(resource.RUSAGE_SELF)
            chosen = torch.randperm(graph.pairs[0].numel(), generator=generator)[:batch]
            users, items = graph.pairs[0][chosen], graph.pairs[1][chosen]
            t = clock()
            adj = edge_dropout(
                graph.adjacency, graph.edge_ids, config.edge_dropout, generator
            )
            t = lap("edge dropout", t, count)
            nodes = model.node_embeddings(adj)
            t = lap("forward", t, count)
            negatives, scores = training._draw_negatives(
                graph.sampler, nodes, nodes, users, items, config, generator, n_users
            )
            t = lap("hard negatives (sample + score)", t, count)
            loss = bpr_loss(
                nodes, nodes, users, items + n_users, negatives + n_users, scores
            )
            t = lap("BPR loss and its gradient", t, count)
            loss = loss + config.l2_weight * training.l2_penalty(
                model.user_embedding, model.item_embedding, users, items, negatives
            )
            t = lap("L2", t, count)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            t = lap("backward", t, count)
            optimizer.step()
            lap("Adam", t, count)
    print(
        f"{args.size}: {n_users:,} users, {n_items:,} items, "
        f"{graph.pairs[0].numel():,} edges, batch {batch:,}, "
        f"{args.threads} thread(s), {'id' if args.id_order else 'hub'} order, "
        f"{args.clock} ms per step (mean of {args.steps})"
    )
    print("| part | ms | share |")
    print("| --- | ---: | ---: |")
    total = sum(totals.values())
    for name, seconds in totals.items():
        print(f"| {name} | {seconds / args.steps * 1000:.1f} | {seconds / total:.0%} |")
    print(f"| one step | {total / args.steps * 1000:.1f} | |")
    end = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"per step: user {(end.ru_utime - usage.ru_utime) / args.steps:.2f} s, "
        f"system (kernel) {(end.ru_stime - usage.ru_stime) / args.steps:.2f} s, "
        f"{(end.ru_minflt - usage.ru_minflt) / args.steps:,.0f} minor page faults"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

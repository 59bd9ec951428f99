"""ItemKNN fit time and peak memory on 1M interactions over 20,000 items.

Run by hand (numbers go in warprec-models-classic/README.md)::

    .venv/bin/python bench/bench_knn.py
    .venv/bin/python bench/bench_knn.py --similarity jaccard --k 50

The synthetic matrix has Zipf-like item popularity (exponent 0.8), so popular items
co-occur with most others and the top-k cut does real work. The bare sparse product
``X^T X`` (all co-occurrences, nothing cut) alternates with the fits, for scale. Peak
memory is the growth of the process's peak resident set (``VmHWM``, reset through
``/proc/self/clear_refs`` right before each fit) over its resident set at that point.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_ease import _reset_peak, _rss_kib, synthetic_matrix


def main() -> None:
    """Fit ItemKNN ``--repeats`` times and print time, memory and similarity size."""
    from warprec.data.dataset import Interactions
    from warprec_models_classic.knn import ItemKNN

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--similarity", default="cosine")
    parser.add_argument("--shrink", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    X = synthetic_matrix(args.users, args.items, args.interactions, args.seed)
    interactions = Interactions(*X.nonzero(), args.users, args.items)
    interactions.get_sparse()
    info = {"n_users": args.users, "n_items": args.items}
    params = {"k": args.k, "similarity": args.similarity, "shrink": args.shrink}
    Xt = X.T.tocsr()
    times, growth, bare = [], [], []
    for _ in range(args.repeats):
        # Lower bound of any exact method: the bare co-occurrence product, untrimmed.
        start = time.perf_counter()
        co_occurring = (Xt @ X).nnz
        bare.append(time.perf_counter() - start)
        base = _reset_peak()
        start = time.perf_counter()
        model = ItemKNN(params, info, interactions)
        times.append(time.perf_counter() - start)
        growth.append((_rss_kib("VmHWM") - base) * 1024)
        kept = model.item_similarity.nnz
        del model
    print(
        f"items={args.items} users={args.users} interactions={X.nnz} "
        f"co-occurring item pairs={co_occurring} params={params}"
    )
    print(
        f"ItemKNN fit: min {min(times):.2f}s  median {statistics.median(times):.2f}s  "
        f"peak growth {max(growth) / 2**20:.1f} MiB  kept {kept} similarities"
    )
    print(
        f"bare X^T X (scipy, no top-k): min {min(bare):.2f}s; "
        f"ItemKNN / bare = {min(times) / min(bare):.2f}x"
    )


if __name__ == "__main__":
    main()

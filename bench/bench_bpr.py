"""BPR training speed and accuracy per second: WarpRec's BPR, the guide's MyBPR, and
Cornac's and implicit's BPR when installed, on the same synthetic split.

    .venv/bin/python bench/bench_bpr.py                      # ours and MyBPR
    .venv/bin/python bench/bench_bpr.py --data ml-100k --ml100k DIR   # MovieLens-100K
    (pip install cornac implicit into the environment to add the peers)

Data: ``warprec.data.synthetic`` (1,000,000 interactions, 50,000 users, 20,000 items by
default) or MovieLens-100K (``--data ml-100k``: every rating as an interaction; the
folder printed by ``bash /work/shared/data/movielens-100k.sh``), a per-user random 80/20
holdout. Our BPR runs with ``kernel: torch`` (its optimizers) and ``kernel: compiled``
(the numba per-sample kernel, ``warprec-models-neural[compiled]``); ``--seeds`` reruns
the compiled rows with several seeds and prints the spread of nDCG@10 (with more than
one thread Hogwild updates are not deterministic). Throughput is training samples (one per
training interaction and epoch) per second of training; the accuracy curve is nDCG@10
(full ranking, training items masked, the core Evaluator for every model) after each
checkpoint epoch against the training seconds so far (evaluation time excluded). Ours
and MyBPR train through ``warprec.recommenders.trainer.Trainer``; the peers through
their own ``fit``, restarted for each checkpoint (their time is one fit's).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from warprec.data.dataset import Dataset
from warprec.data.splitting import RandomHoldoutPerUser
from warprec.data.synthetic import synthetic
from warprec.evaluation import Evaluator
from warprec.recommenders.base_recommender import Recommender
from warprec.recommenders.trainer import Trainer
from warprec_models_neural.bpr import BPR

ROOT = Path(__file__).resolve().parents[1]
SGD_PARAMS = {"optimizer": "sgd", "learning_rate": 0.1, "reg_weight": 0.01, "init_std": 0.1}
ADAM_PARAMS = {"optimizer": "adam", "learning_rate": 0.01}
COMPILED_PARAMS = {"kernel": "compiled"}
ML100K_CHECKPOINTS = "1,2,4,8,16,32,64"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=["synthetic", "ml-100k"], default="synthetic")
    parser.add_argument("--ml100k", type=Path,
                        default=Path.home() / ".cache" / "warprec-data" / "ml-100k",
                        help="folder holding ml-100k.tsv (--data ml-100k)")
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoints", default=None,
                        help="epochs after which nDCG@10 is measured (default 1,2,4,8,16,30; "
                        f"ml-100k: {ML100K_CHECKPOINTS})")
    parser.add_argument("--mybpr-checkpoints", default="1",
                        help="checkpoints for the guide's MyBPR (slow: a few; '' to skip)")
    parser.add_argument("--peers", default="cornac,implicit",
                        help="comma-separated peers to run when importable ('' for none)")
    parser.add_argument("--params", default="{}",
                        help="JSON hyperparameters of our BPR (default: its defaults)")
    parser.add_argument("--adam-params", default=json.dumps(ADAM_PARAMS),
                        help="JSON hyperparameters of our BPR's all-Adam row ('' to skip)")
    parser.add_argument("--sgd-params", default=json.dumps(SGD_PARAMS),
                        help="JSON hyperparameters of our BPR's SparseSGD row ('' to skip)")
    parser.add_argument("--compiled-params", default=json.dumps(COMPILED_PARAMS),
                        help="JSON hyperparameters of the compiled kernel's row (default: "
                        "its defaults; '' to skip)")
    parser.add_argument("--compiled-sgd-params",
                        default=json.dumps({**COMPILED_PARAMS, **SGD_PARAMS}),
                        help="JSON of the compiled kernel with plain SGD ('' to skip)")
    parser.add_argument("--peer-checkpoints", default=None,
                        help="the peers' checkpoints (default: --checkpoints); they may need "
                        "more epochs than ours")
    parser.add_argument("--cornac-params", default="{}",
                        help='JSON of Cornac BPR arguments (e.g. {"learning_rate": 0.05})')
    parser.add_argument("--implicit-params", default="{}",
                        help="JSON of implicit BPR arguments")
    parser.add_argument("--seeds", default="",
                        help="comma-separated seeds: rerun the compiled rows with each and "
                        "print the nDCG@10 spread")
    parser.add_argument("--prefetch", type=int, default=1,
                        help="batches the data loader builds ahead in a thread (0: none)")
    parser.add_argument("--alternate", type=int, default=0,
                        help="then train the compiled row and implicit N times each, "
                        "alternately, for the last checkpoint's epochs: the ratio of each "
                        "adjacent pair and their median (on a noisy machine)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def bench_dataset(args: argparse.Namespace) -> Dataset:
    """The synthetic (or MovieLens-100K) split; its test part doubles as validation so
    the trainer-side evaluation masks only training items."""
    if args.data == "ml-100k":
        # The file has a header row (user_id item_id rating timestamp); reading it with
        # names= would turn that row into a bogus interaction.
        frame = pd.read_csv(args.ml100k / "ml-100k.tsv", sep="\t")
    else:
        frame = synthetic(n_users=args.users, n_items=args.items,
                          n_interactions=args.interactions, seed=0)
    dataset = Dataset.from_dataframe(frame.drop(columns="rating"),
                                     RandomHoldoutPerUser(0.2, seed=0))
    dataset.validation = dataset.test
    return dataset


class Factors(Recommender):
    """Scores ``user_factors @ item_factors.T`` of an external model (for the Evaluator)."""

    def __init__(self, info: dict, users: np.ndarray, items: np.ndarray, device: str) -> None:
        super().__init__({}, info, device=device)
        self.users = torch.as_tensor(np.ascontiguousarray(users), dtype=torch.float32,
                                     device=self.device)
        self.items = torch.as_tensor(np.ascontiguousarray(items), dtype=torch.float32,
                                     device=self.device)

    def predict(self, user_indices: torch.Tensor, *args: Any,
                item_indices: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
        """Dot-product scores of the users, all items or ``item_indices``."""
        user = self.users[user_indices.to(self.device)]
        if item_indices is None:
            return user @ self.items.T
        return torch.einsum("be,bse->bs", user, self.items[item_indices.to(self.device)])


def ndcg(model: Any, dataset: Dataset) -> float:
    """nDCG@10 on the held-out part (through the validation slot, see bench_dataset)."""
    evaluator = Evaluator(metrics=["nDCG"], top_k=[10])
    return evaluator.evaluate(model, dataset, split="validation").summary()["nDCG@10"]


def run_trainer(model: Any, dataset: Dataset, checkpoints: list[int],
                prefetch: int = 1) -> dict[str, Any]:
    """Train through the Trainer up to the last checkpoint; nDCG@10 at each checkpoint
    with the clock paused. Returns seconds, samples/s and the curve."""
    clock = {"train": 0.0, "started": 0.0, "cpu": 0.0, "cpu_started": 0.0}
    curve: list[tuple[int, float, float, float]] = []
    on_start, on_end = model.on_epoch_start, model.on_epoch_end
    get_dataloader = model.get_dataloader

    def loader(*args: Any, **kwargs: Any) -> Any:
        batches = get_dataloader(*args, **kwargs)
        batches.prefetch = prefetch
        return batches

    def start(epoch: int) -> None:
        on_start(epoch)
        clock["started"] = time.perf_counter()
        clock["cpu_started"] = time.process_time()

    def end(epoch: int) -> None:
        on_end(epoch)
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        clock["train"] += time.perf_counter() - clock["started"]
        clock["cpu"] += time.process_time() - clock["cpu_started"]
        if epoch in checkpoints:
            model.eval()
            curve.append((epoch, round(clock["train"], 2), round(clock["cpu"], 2),
                          round(ndcg(model, dataset), 4)))
            model.train()

    model.on_epoch_start, model.on_epoch_end = start, end
    model.get_dataloader = loader
    history = Trainer(model, dataset, epochs=max(checkpoints), monitor="loss",
                      restore_best=False, progress=False).fit()
    samples = len(dataset.train) * history.epochs_run
    return {"seconds": round(clock["train"], 2), "samples_per_s": samples / clock["train"],
            "curve": curve}


def warm_up(params: dict[str, Any], device: str) -> None:
    """A few steps on tiny data, untimed: numba loads the compiled kernel from its
    on-disk cache (or compiles it, the first time) and starts its thread pool at the
    first call, a one-off per process that the peers' import time is not charged either."""
    frame = synthetic(n_users=50, n_items=40, n_interactions=500, seed=1)
    tiny = Dataset.from_dataframe(frame.drop(columns="rating"), RandomHoldoutPerUser(0.2, seed=0))
    model = BPR({**params, "epochs": 1, "batch_size": 128}, tiny.info(), device=device)
    Trainer(model, tiny, epochs=1, monitor="loss", progress=False).fit()


def load_mybpr() -> type:
    """The guide's MyBPR, verbatim, from examples/custom_modules/my_models.py."""
    path = ROOT / "examples" / "custom_modules" / "my_models.py"
    spec = importlib.util.spec_from_file_location("bench_my_models", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.MyBPR


def run_implicit(dataset: Dataset, checkpoints: list[int], threads: int,
                 params: dict[str, Any]) -> dict[str, Any]:
    """implicit's CPU BPR (its defaults except 64 factors, and ``params``), one fit per
    checkpoint."""
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    matrix = dataset.train.get_sparse()
    curve = []
    for epochs in checkpoints:
        model = BayesianPersonalizedRanking(**{"factors": 64, **params}, iterations=epochs,
                                            num_threads=threads, random_state=0)
        started, cpu = time.perf_counter(), time.process_time()
        model.fit(matrix, show_progress=False)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        scorer = Factors(dataset.info(), model.user_factors, model.item_factors, "cpu")
        curve.append((epochs, round(seconds, 2), round(cpu, 2), round(ndcg(scorer, dataset), 4)))
    return _peer_result(dataset, curve)


def run_cornac(dataset: Dataset, checkpoints: list[int], threads: int,
               params: dict[str, Any]) -> dict[str, Any]:
    """Cornac's BPR (its defaults except k=64, and ``params``), one fit per checkpoint."""
    import cornac
    from cornac.data import Dataset as CornacData

    train = dataset.train
    triples = list(zip(train.users.tolist(), train.items.tolist(), [1.0] * len(train),
                       strict=True))
    data = CornacData.build(triples, seed=0)
    user_order = np.array([data.uid_map[u] for u in range(dataset.n_users)])
    item_index = np.array([data.iid_map.get(i, -1) for i in range(dataset.n_items)])
    curve = []
    for epochs in checkpoints:
        hyper = {"k": 64, **params}
        model = cornac.models.BPR(**hyper, max_iter=epochs, num_threads=threads, seed=0,
                                  verbose=False)
        started, cpu = time.perf_counter(), time.process_time()
        model.fit(data)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        known = item_index >= 0
        k = hyper["k"]
        items = np.zeros((dataset.n_items, k + 1), dtype=np.float32)
        items[known, :k] = model.i_factors[item_index[known]]
        items[known, k] = model.i_biases[item_index[known]]
        users = np.hstack([model.u_factors[user_order], np.ones((dataset.n_users, 1))])
        scorer = Factors(dataset.info(), users, items, "cpu")
        curve.append((epochs, round(seconds, 2), round(cpu, 2), round(ndcg(scorer, dataset), 4)))
    return _peer_result(dataset, curve)


def _peer_result(dataset: Dataset, curve: list[tuple[int, float, float, float]]
                 ) -> dict[str, Any]:
    epochs, seconds, _, _ = curve[-1]
    return {"seconds": seconds, "samples_per_s": len(dataset.train) * epochs / seconds,
            "curve": curve}


def alternate(args: argparse.Namespace, dataset: Dataset, epochs: int) -> dict[str, Any]:
    """Samples/s of the compiled row and of implicit, ``args.alternate`` times each in
    turn (``epochs`` epochs, no evaluation): each pair's ratio and the median."""
    hyper = json.loads(args.compiled_params)
    warm_up(hyper, args.device)
    pairs = []
    for _ in range(args.alternate):
        ours = run_trainer(BPR(hyper, dataset.info(), device=args.device), dataset,
                           [epochs], args.prefetch)["samples_per_s"]
        peer = run_implicit(dataset, [epochs], args.threads,
                            json.loads(args.implicit_params))["samples_per_s"]
        pairs.append((ours, peer, ours / peer))
        print(f"alternate: compiled {ours:,.0f}  implicit {peer:,.0f}  ratio {ours / peer:.2f}",
              flush=True)
    median = float(np.median([ratio for *_, ratio in pairs]))
    print(f"compiled kernel / implicit, {len(pairs)} alternating pairs of {epochs} epochs: "
          f"median {median:.2f}x (pairs {', '.join(f'{r:.2f}' for *_, r in pairs)})")
    return {"pairs": pairs, "median_ratio": median}


def main() -> None:
    """Run every model, print the table, optionally write JSON."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.checkpoints is None:
        args.checkpoints = ML100K_CHECKPOINTS if args.data == "ml-100k" else "1,2,4,8,16,30"
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    started = time.perf_counter()
    dataset = bench_dataset(args)
    print(f"data: {dataset} ({time.perf_counter() - started:.1f} s), threads={args.threads}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, "
          f"device={args.device}, torch {torch.__version__}", flush=True)
    results: dict[str, Any] = {}
    rows = (("BPR (defaults)", args.params),
            ("BPR (kernel=compiled)", args.compiled_params),
            ("BPR (kernel=compiled, optimizer=sgd)", args.compiled_sgd_params),
            ("BPR (optimizer=adam)", args.adam_params),
            ("BPR (optimizer=sgd)", args.sgd_params))
    seeds = [int(seed) for seed in args.seeds.split(",") if seed]
    for label, params in rows:
        if not params:
            continue
        hyper = json.loads(params)
        if hyper.get("kernel") == "compiled":
            warm_up(hyper, args.device)
        ours = BPR(hyper, dataset.info(), device=args.device)
        results[label] = run_trainer(ours, dataset, checkpoints, args.prefetch)
        print(label, results[label], flush=True)
        if seeds and hyper.get("kernel") == "compiled":
            runs = [run_trainer(BPR(hyper, dataset.info(), seed=seed, device=args.device),
                                dataset, checkpoints, args.prefetch) for seed in seeds]
            results[label]["seeds"] = {"seeds": seeds, "curves": [r["curve"] for r in runs],
                                       "samples_per_s": [r["samples_per_s"] for r in runs]}
    mybpr_checkpoints = [int(c) for c in args.mybpr_checkpoints.split(",") if c]
    if mybpr_checkpoints:
        mybpr = load_mybpr()({"embedding_size": 64, "batch_size": 4096, "epochs": 1,
                              "learning_rate": 0.001}, dataset.info(), device=args.device)
        results["MyBPR (guide, Adam)"] = run_trainer(mybpr, dataset, mybpr_checkpoints,
                                                     args.prefetch)
        print("MyBPR", results["MyBPR (guide, Adam)"], flush=True)
    runners = {"cornac": run_cornac, "implicit": run_implicit}
    for peer in filter(None, args.peers.split(",")):
        if importlib.util.find_spec(peer) is None:
            results[peer] = {"skipped": f"{peer} is not installed"}
            continue
        peer_checkpoints = ([int(c) for c in args.peer_checkpoints.split(",")]
                            if args.peer_checkpoints else checkpoints)
        results[peer] = runners[peer](dataset, peer_checkpoints, args.threads,
                                      json.loads(getattr(args, f"{peer}_params")))
        print(peer, results[peer], flush=True)
    print(f"\n{'model':<38} {'samples/s':>12}  nDCG@10 by (epochs: train seconds wall/CPU)")
    for name, result in results.items():
        if "skipped" in result:
            print(f"{name:<38} {'skipped':>12}  {result['skipped']}")
            continue
        curve = "  ".join(f"{e}:{s}/{c}s={v}" for e, s, c, v in result["curve"])
        print(f"{name:<38} {result['samples_per_s']:>12,.0f}  {curve}")
        if "seeds" in result:
            values = np.array([[v for *_, v in c] for c in result["seeds"]["curves"]])
            spread = "  ".join(f"{e}:{lo:.4f}-{hi:.4f}" for (e, *_), lo, hi in
                               zip(result["curve"], values.min(0), values.max(0), strict=True))
            print(f"{'  seeds ' + args.seeds:<38} {'':>12}  nDCG@10 min-max {spread}")
    compiled = results.get("BPR (kernel=compiled)", {})
    for peer in ("implicit", "cornac", "BPR (defaults)"):
        if "samples_per_s" in compiled and "samples_per_s" in results.get(peer, {}):
            ratio = compiled["samples_per_s"] / results[peer]["samples_per_s"]
            print(f"compiled kernel / {peer}: {ratio:.2f}x samples/s (same run)")
    if args.alternate and args.compiled_params and importlib.util.find_spec("implicit"):
        results["alternate"] = alternate(args, dataset, checkpoints[-1])
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) if isinstance(v, Path) else v
                                                  for k, v in vars(args).items()},
                                         "results": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())

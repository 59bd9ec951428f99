"""Tiny, learnable datasets for model tests (a few dozen users and items, built in ms).

Users fall into clusters and mostly interact with their cluster's items, so any model
that learns from co-occurrence beats chance on them, and a training loss has something
to decrease. Each user's interactions carry increasing timestamps; the last one is the
test item, the one before it the validation item (a temporal leave-one-out split).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from warprec.data.dataset import Dataset
from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER
from warprec.data.side import side_information

__all__ = ["TOY_CONTEXT_LABELS", "toy_contexts", "toy_dataset", "toy_frame",
           "toy_item_features", "toy_splits", "with_toy_item_features"]

TOY_CONTEXT_LABELS = ("daytime", "weekend")
"""The context columns of :func:`toy_contexts`."""


def toy_frame(
    n_users: int = 48,
    n_items: int = 32,
    n_clusters: int = 4,
    per_user: int = 6,
    noise: int = 1,
    explicit: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """All interactions of a clustered toy problem.

    User ``u`` belongs to cluster ``u % n_clusters``, whose items are those with
    ``item % n_clusters == cluster``; each user has ``per_user`` distinct items of the
    cluster plus ``noise`` items of other clusters. Ids are the indices themselves
    (``user_id`` 0..n_users-1, ``item_id`` 0..n_items-1).

    Args:
        n_users: number of users.
        n_items: number of items (a multiple of ``n_clusters``).
        n_clusters: number of taste clusters.
        per_user: in-cluster interactions of each user (at most ``n_items / n_clusters``).
        noise: out-of-cluster interactions of each user.
        explicit: add a ``rating`` column (5 in-cluster, 1 out of cluster).
        seed: seed of the generator; the same seed gives the same frame.
    """
    size = n_items // n_clusters
    if n_items % n_clusters or not 0 < per_user <= size or noise < 0 or n_clusters < 2:
        raise ValueError(
            f"toy_frame: need n_clusters >= 2 dividing n_items and 0 < per_user <= "
            f"n_items / n_clusters; got n_items={n_items}, n_clusters={n_clusters}, "
            f"per_user={per_user}, noise={noise}"
        )
    rng = np.random.default_rng(seed)
    users = np.arange(n_users)
    cluster = users % n_clusters
    # A random subset of per_user cluster items for every user, without a Python loop.
    picks = rng.permuted(np.tile(np.arange(size), (n_users, 1)), axis=1)[:, :per_user]
    liked = cluster[:, None] + n_clusters * picks
    other = (cluster[:, None] + rng.integers(1, n_clusters, (n_users, noise))) % n_clusters
    stray = other + n_clusters * rng.integers(0, size, (n_users, noise))
    items = np.concatenate([liked, stray], axis=1)
    # Each user's history in a random order: position = time step.
    order = rng.permuted(np.tile(np.arange(items.shape[1]), (n_users, 1)), axis=1)
    items = np.take_along_axis(items, order, axis=1)
    frame = pd.DataFrame(
        {
            USER: np.repeat(users, items.shape[1]),
            ITEM: items.ravel(),
            TIMESTAMP: np.tile(np.arange(items.shape[1]), n_users) + 1_000,
        }
    )
    if explicit:
        in_cluster = frame[ITEM].to_numpy() % n_clusters == frame[USER].to_numpy() % n_clusters
        frame[RATING] = np.where(in_cluster, 5.0, 1.0).astype(np.float32)
    return frame


def toy_splits(
    frame: pd.DataFrame, validation: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """``(train, validation or None, test)``: each user's last interaction is the test
    one and, with ``validation``, the one before it the validation one."""
    rank = frame.groupby(USER)[TIMESTAMP].rank(method="first", ascending=False).to_numpy()
    test = frame[rank == 1]
    held = 2 if validation else 1
    valid = frame[rank == 2] if validation else None
    train = frame[rank > held]
    return train.reset_index(drop=True), _reset(valid), test.reset_index(drop=True)


def _reset(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if frame is None else frame.reset_index(drop=True)


def toy_item_features(n_items: int = 32, n_clusters: int = 4) -> pd.DataFrame:
    """Item features of :func:`toy_frame`'s items, in WarpRec's long side layout: a
    categorical ``genre`` (the item's cluster, ``g0``, ``g1``...; items ``0, 5, 10...``
    take a second genre ``mixed``: a multi-valued attribute) and a numeric ``length``
    (``0``, ``0.5`` or ``1``)."""
    items = np.arange(n_items)
    frame = pd.DataFrame({ITEM: items, "genre": [f"g{i % n_clusters}" for i in items],
                          "length": (items % 3) / 2.0})
    extra = frame[items % 5 == 0].assign(genre="mixed")
    return pd.concat([frame, extra], ignore_index=True)


def toy_contexts(frame: pd.DataFrame, repeats: int = 1) -> pd.DataFrame:
    """``frame`` with :data:`TOY_CONTEXT_LABELS` columns, and the same (user, item) pair
    seen again in another context (``repeats`` per user), as context data has.

    ``daytime`` is ``am``, ``pm`` or ``night`` by ``(user + item) % 3`` (a model that
    reads it can learn which items go with which part of the day); ``weekend`` is ``0``
    or ``1`` by the timestamp's parity. A repeat copies the user's earliest row one
    daytime later, timestamped before every row of the frame, so a temporal split keeps
    both in training."""
    daytimes = np.array(["am", "pm", "night"])
    users, items = frame[USER].to_numpy(), frame[ITEM].to_numpy()
    with_context = frame.assign(daytime=daytimes[(users + items) % 3],
                                weekend=(frame[TIMESTAMP].to_numpy() % 2).astype(np.int64))
    first = with_context.groupby(USER, sort=False).head(repeats)
    shifted = (first[USER].to_numpy() + first[ITEM].to_numpy() + 1) % 3
    earlier = first[TIMESTAMP] - first[TIMESTAMP].max() - 1
    again = first.assign(daytime=daytimes[shifted], **{TIMESTAMP: earlier})
    return pd.concat([again, with_context], ignore_index=True)


def toy_dataset(validation: bool = True, context: bool = False, **kwargs: object) -> Dataset:
    """A :class:`~warprec.data.dataset.Dataset` of :func:`toy_frame` (same keyword
    arguments), split by :func:`toy_splits`, carrying :func:`toy_item_features` as its
    item features (so models that read features can be checked too) and, with
    ``context``, the context columns of :func:`toy_contexts` (``info()["context_dims"]``,
    ``Interactions.transactions``)."""
    frame = toy_frame(**kwargs)  # type: ignore[arg-type]
    labels = TOY_CONTEXT_LABELS if context else ()
    train, valid, test = toy_splits(toy_contexts(frame) if context else frame, validation)
    n_clusters = int(kwargs.get("n_clusters", 4))  # type: ignore[call-overload]
    dataset = Dataset(train, test, valid, context_labels=labels)
    return with_toy_item_features(dataset, n_clusters)


def with_toy_item_features(dataset: Dataset, n_clusters: int = 4) -> Dataset:
    """``dataset`` given :func:`toy_item_features` for its items (integer item ids, as
    :func:`toy_frame` makes them; other ids are left without features)."""
    if not np.issubdtype(dataset.item_ids.dtype, np.integer):
        return dataset
    frame = toy_item_features(int(dataset.item_ids.max()) + 1, n_clusters)
    side = side_information(frame, dataset.item_ids.dtype)
    dataset.set_item_features(*side.matrix(dataset.item_ids))
    return dataset

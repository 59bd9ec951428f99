"""A seeded synthetic interaction table with learnable structure (no download needed).

The generator is a topic model: every item belongs to one of ``n_topics`` topics and has
a power-law (Zipf) popularity; every user has a Dirichlet mixture of tastes over the
topics and a log-normal activity level. An interaction picks a topic from the user's
mixture, then an item of that topic by popularity (a small share of picks ignore tastes
and follow global popularity). Users consume topics in sessions, so consecutive items
tend to share a topic: a signal for sequential models. Ratings grow with the user's
taste for the item's topic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from warprec.data.schema import ITEM, RATING, TIMESTAMP, USER
from warprec.errors import ConfigError

__all__ = ["synthetic"]

_START = 1_600_000_000  # 2020-09-13, an arbitrary fixed origin for the timestamps
_MEAN_GAP = 3_600.0  # seconds between two interactions of a user, on average


def synthetic(
    n_users: int = 1000,
    n_items: int = 500,
    n_interactions: int = 20_000,
    seed: int = 42,
    n_topics: int = 16,
    popularity_exponent: float = 1.0,
    noise: float = 0.1,
    min_user_interactions: int = 5,
) -> pd.DataFrame:
    """Generate an interaction table with columns user_id, item_id, rating, timestamp.

    Args:
        n_users: number of users (ids ``1..n_users``; each has at least
            ``min_user_interactions`` rows when ``n_interactions`` allows).
        n_items: number of items (ids ``1..n_items``); rarely picked items may not occur.
        n_interactions: number of distinct (user, item) rows.
        seed: random seed; the same arguments give the same table.
        n_topics: number of latent taste topics.
        popularity_exponent: Zipf exponent of item popularity.
        noise: share of interactions that follow global popularity instead of tastes.
        min_user_interactions: rows every user gets before the rest are dealt by activity.

    Returns:
        A DataFrame sorted by user then timestamp; ratings are 1.0..5.0.
    """
    _check(n_users, n_items, n_interactions, n_topics)
    rng = np.random.default_rng(seed)
    item_topic = rng.integers(0, n_topics, size=n_items)
    popularity = rng.permutation(np.arange(1, n_items + 1) ** -float(popularity_exponent))
    tastes = rng.dirichlet(np.full(n_topics, 0.3), size=n_users)
    cdf_by_topic, items_by_topic = _topic_cdfs(item_topic, popularity, n_topics)
    global_cdf = np.cumsum(popularity / popularity.sum())

    users = np.empty(0, dtype=np.int64)
    items = np.empty(0, dtype=np.int64)
    for _ in range(20):
        missing = n_interactions - users.size
        if missing <= 0:
            break
        new_users = _draw_users(
            rng, n_users, int(missing * 1.2) + 16, min_user_interactions, first=users.size == 0
        )
        topics = _draw_topics(rng, tastes, new_users)
        new_items = items_by_topic[
            np.minimum(
                np.searchsorted(cdf_by_topic, topics + rng.random(new_users.size), side="right"),
                n_items - 1,
            )
        ]
        noisy = rng.random(new_users.size) < noise
        new_items[noisy] = np.minimum(
            np.searchsorted(global_cdf, rng.random(int(noisy.sum())), side="right"), n_items - 1
        )
        users, items = _unique_pairs(
            np.concatenate([users, new_users]), np.concatenate([items, new_items]), n_items
        )
    users, items = users[:n_interactions], items[:n_interactions]
    return _frame(rng, users, items, item_topic, tastes)


def _check(n_users: int, n_items: int, n_interactions: int, n_topics: int) -> None:
    for name, value in (
        ("n_users", n_users),
        ("n_items", n_items),
        ("n_topics", n_topics),
        ("n_interactions", n_interactions),
    ):
        if int(value) != value or value < 1:
            raise ConfigError(f"synthetic: {name} must be a positive integer, got {value!r}")
    if n_interactions > n_users * n_items // 2:
        raise ConfigError(
            f"synthetic: n_interactions={n_interactions} is more than half of all "
            f"{n_users} x {n_items} user-item pairs; use fewer interactions or more items"
        )


def _topic_cdfs(
    item_topic: np.ndarray, popularity: np.ndarray, n_topics: int
) -> tuple[np.ndarray, np.ndarray]:
    """Items grouped by topic, and a CDF where topic ``t`` spans ``[t, t + 1)``, so one
    ``searchsorted(cdf, t + u)`` draws an item of topic ``t`` by popularity."""
    order = np.argsort(item_topic, kind="stable")
    topics = item_topic[order]
    weights = popularity[order]
    totals = np.bincount(topics, weights=weights, minlength=n_topics)
    within = np.cumsum(weights) - np.repeat(
        np.cumsum(totals) - totals, np.bincount(topics, minlength=n_topics)
    )
    return topics + within / totals[topics], order


def _draw_users(
    rng: np.random.Generator, n_users: int, size: int, minimum: int, first: bool
) -> np.ndarray:
    base = np.empty(0, dtype=np.int64)
    if first:
        per_user = min(minimum, size // n_users)
        base = np.repeat(np.arange(n_users, dtype=np.int64), per_user)
    activity = rng.lognormal(0.0, 1.0, size=n_users)
    rest = rng.choice(n_users, size=max(size - base.size, 0), p=activity / activity.sum())
    return np.concatenate([base, rest])


def _draw_topics(rng: np.random.Generator, tastes: np.ndarray, users: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(tastes, axis=1)
    topics = np.empty(users.size, dtype=np.int64)
    for start in range(0, users.size, 262_144):  # bounds the [chunk, n_topics] temporary
        chunk = users[start : start + 262_144]
        draws = rng.random(chunk.size)[:, None]
        topics[start : start + chunk.size] = (draws > cdf[chunk]).sum(axis=1)
    return np.minimum(topics, tastes.shape[1] - 1)


def _unique_pairs(
    users: np.ndarray, items: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated (user, item) pairs, keeping the first occurrence and the order."""
    _, first = np.unique(users * n_items + items, return_index=True)
    first.sort()
    return users[first], items[first]


def _frame(
    rng: np.random.Generator,
    users: np.ndarray,
    items: np.ndarray,
    item_topic: np.ndarray,
    tastes: np.ndarray,
) -> pd.DataFrame:
    topics = item_topic[items]
    # Sessions: a user visits topics in a random order of their own, so the sort by
    # (user, session rank) makes neighbouring interactions share a topic.
    session_rank = rng.random((tastes.shape[0], tastes.shape[1]))[users, topics]
    order = np.lexsort((rng.random(users.size), session_rank, users))
    users, items, topics = users[order], items[order], topics[order]
    counts = np.bincount(users, minlength=tastes.shape[0])
    clock = np.concatenate([[0.0], np.cumsum(rng.exponential(_MEAN_GAP, size=users.size))])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    elapsed = clock[1:] - np.repeat(clock[starts], counts)
    user_start = rng.uniform(0, 365 * 86_400, size=tastes.shape[0])
    affinity = tastes[users, topics] * tastes.shape[1] / 4.0
    ratings = np.clip(np.rint(1.2 + 3.0 * np.sqrt(affinity) + rng.normal(0, 0.6, users.size)), 1, 5)
    return pd.DataFrame(
        {
            USER: users + 1,
            ITEM: items + 1,
            RATING: ratings.astype(np.float32),
            TIMESTAMP: (_START + user_start[users] + elapsed).astype(np.int64),
        }
    )

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
from warprec.utils.checks import check_integer

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
    taste_concentration: float = 0.1,
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
        taste_concentration: Dirichlet concentration of the user tastes; smaller values
            focus each user on fewer topics (a stronger personal signal).

    Returns:
        A DataFrame sorted by user then timestamp; ratings are 1.0..5.0.
    """
    _check(n_users, n_items, n_interactions, n_topics)
    rng = np.random.default_rng(seed)
    item_topic = rng.integers(0, n_topics, size=n_items)
    popularity = rng.permutation(np.arange(1, n_items + 1) ** -float(popularity_exponent))
    tastes = rng.dirichlet(np.full(n_topics, taste_concentration), size=n_users)
    sampler = _ItemSampler(rng, tastes, item_topic, popularity, noise)
    activity = rng.lognormal(0.0, 1.0, size=n_users)
    minimum = min(min_user_interactions, n_interactions // n_users)
    users = np.empty(0, dtype=np.int64)
    items = np.empty(0, dtype=np.int64)
    # First every user's minimum (a few rounds, since repeated picks are dropped), then
    # the rest by activity; truncating the tail never cuts into the minimum.
    for _ in range(50):
        deficit = np.maximum(minimum - np.bincount(users, minlength=n_users), 0)
        if not deficit.any():
            break
        users, items = sampler.extend(users, items, np.repeat(np.arange(n_users), deficit))
    for _ in range(20):
        missing = n_interactions - users.size
        if missing <= 0:
            break
        extra = rng.choice(n_users, size=int(missing * 1.2) + 16, p=activity / activity.sum())
        users, items = sampler.extend(users, items, extra)
    users, items = users[:n_interactions], items[:n_interactions]
    return _frame(rng, users, items, item_topic, tastes)


class _ItemSampler:
    """Draws items for users: a topic from the user's tastes, then an item of that
    topic by popularity; a ``noise`` share follows global popularity instead."""

    def __init__(
        self,
        rng: np.random.Generator,
        tastes: np.ndarray,
        item_topic: np.ndarray,
        popularity: np.ndarray,
        noise: float,
    ):
        self.rng = rng
        self.tastes = tastes
        self.noise = noise
        self.n_items = item_topic.size
        self.cdf_by_topic, self.items_by_topic = _topic_cdfs(
            item_topic, popularity, tastes.shape[1]
        )
        self.global_cdf = np.cumsum(popularity / popularity.sum())

    def draw(self, users: np.ndarray) -> np.ndarray:
        """One item per entry of ``users``."""
        rng, last = self.rng, self.n_items - 1
        topics = _draw_topics(rng, self.tastes, users)
        position = np.searchsorted(self.cdf_by_topic, topics + rng.random(users.size), "right")
        items = self.items_by_topic[np.minimum(position, last)]
        noisy = rng.random(users.size) < self.noise
        draws = np.searchsorted(self.global_cdf, rng.random(int(noisy.sum())), side="right")
        items[noisy] = np.minimum(draws, last)
        return items

    def extend(
        self, users: np.ndarray, items: np.ndarray, new_users: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Append an item for each of ``new_users``, dropping repeated pairs."""
        new_items = self.draw(new_users)
        return _unique_pairs(
            np.concatenate([users, new_users]), np.concatenate([items, new_items]), self.n_items
        )


def _check(n_users: int, n_items: int, n_interactions: int, n_topics: int) -> None:
    for name, value in (
        ("n_users", n_users),
        ("n_items", n_items),
        ("n_topics", n_topics),
        ("n_interactions", n_interactions),
    ):
        check_integer(value, 1, f"synthetic: {name}")
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
    user_start = rng.random((tastes.shape[0],)) * (365 * 86_400)
    # Taste for the item's topic relative to the user's favourite topic, in [0, 1].
    affinity = tastes[users, topics] / tastes.max(axis=1)[users]
    noisy = 2.2 + 2.2 * affinity + rng.normal(0.0, 0.9, users.size)
    ratings = np.clip(np.rint(noisy), 1, 5)
    return pd.DataFrame(
        {
            USER: users + 1,
            ITEM: items + 1,
            RATING: ratings.astype(np.float32),
            TIMESTAMP: (_START + user_start[users] + elapsed).astype(np.int64),
        }
    )

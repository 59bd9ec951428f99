"""BPR's compiled CPU kernel (numba): per-sample updates of one ``(user, positive,
negative)`` triple at a time, Hogwild across threads (lock-free: threads update shared
rows without synchronisation, as Cornac's and implicit's BPR do).

Imported only when a BPR is built with ``kernel: compiled`` (numba is the optional
``warprec-models-neural[compiled]`` extra). Compiled on first use and cached on disk
(``cache=True``), so later processes load the machine code instead of compiling. The
arithmetic is float32 throughout (as the tables), which lets the per-element loops run
as vector instructions.

Per sample, with ``x = u.(i - j) + b_i - b_j`` and ``c = sigmoid(-x)``, the gradients
of ``softplus(-x) + reg / 2 (|u|^2 + |i|^2 + |j|^2 + b_i^2 + b_j^2)`` are
``g_u = -c (i - j) + reg u``, ``g_i = -c u + reg i``, ``g_j = c u + reg j``,
``g_bi = -c + reg b_i`` and ``g_bj = c + reg b_j``, all taken at the values before the
sample's update; each row then takes one step of the rule:

- ``SGD``: ``row -= lr g``;
- ``ADAGRAD`` (row-wise): ``acc[row] += mean(g^2)``, ``row -= lr g / (sqrt(acc[row]) + eps)``;
- ``ADAM`` (lazy, per row): the row's moments and step count advance only when it is
  touched, ``row -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``.
"""

from __future__ import annotations

import math

import llvmlite
import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["ADAGRAD", "ADAM", "SGD", "bpr_updates", "draw_run", "set_threads", "shuffled"]

SGD, ADAGRAD, ADAM = 0, 1, 2
_BETA1, _BETA2 = 0.9, 0.999


def set_threads(threads: int) -> int:
    """Use ``threads`` numba threads (at most the pool numba started with); returns the
    count applied."""
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    return threads


@intrinsic
def _prefetch(typingctx, array, row, column):  # pragma: no cover - compiled
    """Ask the CPU to bring the cache line of ``array[row, column]`` (a 2-D array) into
    its caches, without waiting for it (LLVM's ``llvm.prefetch``: read, high locality)."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        index = [context.cast(builder, value, kind, types.intp)
                 for value, kind in zip(args[1:], signature.args[1:], strict=True)]
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, index)
        byte_pointer = ir.IntType(8).as_pointer()
        # The intrinsic's name carries the pointer type: typed (llvmlite < 0.44 and
        # its typed IR layer) or opaque (later ones).
        name = "llvm.prefetch.p0i8" if _TYPED_POINTERS else "llvm.prefetch.p0"
        flag = ir.IntType(32)
        signature_ = ir.FunctionType(ir.VoidType(), [byte_pointer, flag, flag, flag])
        prefetch = cgutils.get_or_insert_function(builder.module, signature_, name)
        builder.call(prefetch, [builder.bitcast(pointer, byte_pointer), flag(0), flag(3),
                                flag(1)])
        return context.get_dummy_value()

    return types.void(array, row, column), codegen


@njit(cache=True, inline="always")
def _unseen(
    indptr: np.ndarray, positives: np.ndarray, user: int, draw: float, n_items: int
) -> int:  # pragma: no cover - compiled
    """The ``floor(draw * free)``-th item ``user`` has not interacted with (``free`` of
    them; ``positives`` sorted within each CSR row): the ``r``-th unseen item is ``r``
    plus the number of positives ``p_j`` (j-th of the row) with ``p_j - j <= r``."""
    start, stop = indptr[user], indptr[user + 1]
    free = n_items - (stop - start)
    rank = np.int64(draw * free)
    if rank > free - 1:
        rank = free - 1
    low, high = start, stop
    while low < high:
        middle = (low + high) // 2
        if positives[middle] - (middle - start) <= rank:
            low = middle + 1
        else:
            high = middle
    return rank + (low - start)


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """SplitMix64's finaliser: a well-mixed 64-bit value of ``z``."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def shuffled(n: int, seed: np.uint64) -> np.ndarray:  # pragma: no cover - compiled
    """A uniformly random permutation of ``0..n-1`` (Fisher-Yates on SplitMix64 draws
    from ``seed``; the modulo's bias is below ``n / 2**64``)."""
    order = np.arange(n)
    state = np.uint64(seed)
    for k in range(n - 1, 0, -1):
        state += _GOLDEN
        j = np.int64(_mix(state) % np.uint64(k + 1))
        order[k], order[j] = order[j], order[k]
    return order


@njit(cache=True, parallel=True, nogil=True)
def draw_run(
    order: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    indptr: np.ndarray,
    seen: np.ndarray,
    n_items: int,
    seed: np.uint64,
    offset: int,
    out_users: np.ndarray,
    out_items: np.ndarray,
    out_negatives: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """The training triples of the interactions ``order`` (positions ``offset`` on of
    an epoch): their users and items, and for each an exact uniform negative, the item
    ``_unseen`` finds for the uniform number ``_mix(seed + (offset + s + 1) * golden)``
    of position ``s`` (a counter, so the triples do not depend on the thread count).
    Two passes, all gathers then all searches: each pass's cache misses are independent
    of one another (one pass doing both waited on each sample's chain of misses)."""
    for s in prange(order.size):
        out_users[s] = users[order[s]]
        out_items[s] = items[order[s]]
    for s in prange(order.size):
        bits = _mix(seed + np.uint64(offset + s + 1) * _GOLDEN)
        draw = np.float64(bits >> np.uint64(11)) * _UNIT
        out_negatives[s] = _unseen(indptr, seen, out_users[s], draw, n_items)


@njit(cache=True, fastmath=True, inline="always")
def _row_step(rule: int, lr: np.float32, acc: np.ndarray, steps: np.ndarray, row: int,
              square: np.float32, width: int) -> np.float32:  # pragma: no cover - compiled
    """The step size of ``rule`` for ``row`` whose gradient has the squared norm
    ``square``, advancing the row's Adagrad accumulator or Adam step count."""
    if rule == ADAGRAD:
        acc[row] += square / np.float32(width)
        return np.float32(lr / (np.sqrt(acc[row]) + _EPS))
    if rule == ADAM:
        steps[row] += 1
        t = steps[row]
        return np.float32(lr * math.sqrt(1.0 - _BETA2**t) / (1.0 - _BETA1**t))
    return lr


@njit(cache=True, fastmath=True, inline="always")
def _adam(table: np.ndarray, row: int, k: int, grad: np.float32, size: np.float32,
          moments: np.ndarray) -> None:  # pragma: no cover - compiled
    """Adam's update of ``table[row, k]`` (its moments advance)."""
    first = _B1 * moments[row, 0, k] + (_ONE - _B1) * grad
    second = _B2 * moments[row, 1, k] + (_ONE - _B2) * grad * grad
    moments[row, 0, k] = first
    moments[row, 1, k] = second
    table[row, k] -= size * first / (np.sqrt(second) + _EPS)


@njit(cache=True, fastmath=True, inline="always")
def _bias_step(table: np.ndarray, row: int, grad: np.float32, rule: int, lr: np.float32,
               state: tuple) -> None:  # pragma: no cover - compiled
    """One step of ``rule`` on the bias ``table[row, 0]``."""
    size = _row_step(rule, lr, state[0], state[2], row, grad * grad, 1)
    if rule == ADAM:
        _adam(table, row, 0, grad, size, state[1])
    else:
        table[row, 0] -= size * grad


@njit(cache=True, parallel=True, fastmath=True, nogil=True)
def bpr_updates(
    user_table: np.ndarray,
    item_table: np.ndarray,
    bias_table: np.ndarray,
    users: np.ndarray,
    positives: np.ndarray,
    negatives: np.ndarray,
    rule: int,
    rates: np.ndarray,
    reg: np.float32,
    user_state: tuple,
    item_state: tuple,
    bias_state: tuple,
    chunks: int,
    coefficients: np.ndarray,
    losses: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """One per-sample update for each triple, the samples split into ``chunks``
    consecutive runs processed in parallel (one run: sequential, deterministic).

    ``user_table [n_users, E]``, ``item_table [n_items + 1, E]`` and
    ``bias_table [n_items + 1, 1]`` (float32) are updated in place by ``rule``, at the
    steps ``rates`` (float32: users, items, biases); each ``*_state``
    is the ``(acc [rows], moments [rows, 2, width], steps [rows])`` of its table. Writes
    each sample's ``c = sigmoid(-x)`` to ``coefficients`` and each run's summed loss
    (before its update) to ``losses[run]``.

    Two passes over the three rows per sample, as implicit's: the first takes the six
    dot products of ``u, i, j``, which give ``x``, the penalty and the squared norms of
    the three gradients that Adagrad's row-wise step needs before any update
    (``|g_i|^2 = reg^2 |i|^2 - 2 reg c u.i + c^2 |u|^2`` and alike); the second computes
    each gradient element and applies it to the three rows (distinct rows: ``j`` is
    never ``i``). The rows of the sample :data:`_AHEAD` places on are prefetched.
    """
    n = users.size
    width = user_table.shape[1]
    per_chunk = (n + chunks - 1) // chunks
    half_reg = _HALF * reg
    for chunk in prange(chunks):
        total = 0.0
        stop = min(n, (chunk + 1) * per_chunk)
        for s in range(chunk * per_chunk, stop):
            # The rows of a sample a few ahead: their cache misses (random rows of
            # tables far larger than the caches) overlap this sample's arithmetic.
            ahead = s + _AHEAD
            if ahead < stop:
                for column in range(0, width, _LINE):
                    _prefetch(user_table, users[ahead], column)
                    _prefetch(item_table, positives[ahead], column)
                    _prefetch(item_table, negatives[ahead], column)
            u, i, j = users[s], positives[s], negatives[s]
            b_i, b_j = bias_table[i, 0], bias_table[j, 0]
            ui, uj, ij, uu, ii, jj = _ZERO, _ZERO, _ZERO, _ZERO, _ZERO, _ZERO
            for k in range(width):
                uk, ik, jk = user_table[u, k], item_table[i, k], item_table[j, k]
                ui += uk * ik
                uj += uk * jk
                ij += ik * jk
                uu += uk * uk
                ii += ik * ik
                jj += jk * jk
            x = ui - uj + b_i - b_j
            # softplus(-x) and sigmoid(-x) without overflow.
            if x >= _ZERO:
                e = math.exp(-x)
                loss = math.log1p(e)
                c = np.float32(e / (1.0 + e))
            else:
                e = math.exp(x)
                loss = math.log1p(e) - x
                c = np.float32(1.0 / (1.0 + e))
            total += loss + half_reg * (uu + ii + jj + b_i * b_i + b_j * b_j)
            coefficients[s] = c
            rc, cc = reg * c, c * c
            sq_u = max(_ZERO, reg * reg * uu - _TWO * rc * (ui - uj) + cc * (ii - _TWO * ij + jj))
            sq_i = max(_ZERO, reg * reg * ii - _TWO * rc * ui + cc * uu)
            sq_j = max(_ZERO, reg * reg * jj + _TWO * rc * uj + cc * uu)
            lr_u = _row_step(rule, rates[0], user_state[0], user_state[2], u, sq_u, width)
            lr_i = _row_step(rule, rates[1], item_state[0], item_state[2], i, sq_i, width)
            lr_j = _row_step(rule, rates[1], item_state[0], item_state[2], j, sq_j, width)
            if rule == ADAM:
                for k in range(width):
                    uk, ik, jk = user_table[u, k], item_table[i, k], item_table[j, k]
                    _adam(user_table, u, k, reg * uk - c * (ik - jk), lr_u, user_state[1])
                    _adam(item_table, i, k, reg * ik - c * uk, lr_i, item_state[1])
                    _adam(item_table, j, k, reg * jk + c * uk, lr_j, item_state[1])
            else:
                for k in range(width):
                    uk, ik, jk = user_table[u, k], item_table[i, k], item_table[j, k]
                    user_table[u, k] = uk - lr_u * (reg * uk - c * (ik - jk))
                    item_table[i, k] = ik - lr_i * (reg * ik - c * uk)
                    item_table[j, k] = jk - lr_j * (reg * jk + c * uk)
            _bias_step(bias_table, i, reg * b_i - c, rule, rates[2], bias_state)
            _bias_step(bias_table, j, reg * b_j + c, rule, rates[2], bias_state)
        losses[chunk] = total


# float32 constants: float64 literals would promote the per-element arithmetic.
_ZERO, _HALF, _ONE, _TWO = (np.float32(0.0), np.float32(0.5), np.float32(1.0),
                           np.float32(2.0))
_B1, _B2 = np.float32(_BETA1), np.float32(_BETA2)
# SplitMix64's increment; 2**-53, a 53-bit integer's scale to a double in [0, 1).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_UNIT = 1.0 / 9007199254740992.0
_TYPED_POINTERS = getattr(llvmlite, "ir_layer_typed_pointers_enabled", True)
# Samples ahead whose rows bpr_updates prefetches, and float32 values per cache line.
_AHEAD, _LINE = 4, 16
# Added to the square roots of the Adagrad/Adam second moments.
_EPS = np.float32(1e-8)

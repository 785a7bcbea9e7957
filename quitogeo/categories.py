"""Per-lot texts as compact categoricals, built from codes into a small table of labels.

A run's result holds ~50 text columns whose values repeat (a PIT code, a use, a few thousand combinations of
reasons for 1 M lots). :func:`quitogeo.pipeline.compact_text` turns object columns into categoricals by
hashing every lot's string; a stage that already knows each lot's *code* into a small table of labels (the
PIT it matched, the combination of conditions it failed) builds the same categorical directly with
:func:`labelled`, without ever making one Python string per lot.

The result is exactly what :func:`~quitogeo.pipeline.compact_text` makes of the equivalent object column:
categories are the sorted distinct non-null values present (unused labels dropped), so a chunked run and a
whole-frame run give identical frames; a column with no value at all is an object array of ``None``.

>>> import numpy as np
>>> from quitogeo.categories import labelled
>>> cat = labelled(np.array([2, 0, -1, 2]), np.array(["b", "z", "a"], dtype=object))
>>> list(cat.categories), cat.codes.tolist()
(['a', 'b'], [0, 1, -1, 0])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def labelled(codes: npt.ArrayLike, labels: npt.ArrayLike) -> pd.Categorical | npt.NDArray[np.object_]:
    """Return ``labels[codes]`` (``-1``: null) as :func:`~quitogeo.pipeline.compact_text` would store it.

    Parameters
    ----------
    codes : array-like of int
        Per lot, a position in ``labels`` or ``-1`` for no value.
    labels : array-like of str
        The texts (may repeat, and may hold ``None``/NaN for "no value").

    Returns
    -------
    pandas.Categorical or numpy.ndarray
        A categorical whose categories are the sorted distinct texts the lots use; an object array of
        ``None`` when no lot has a text.
    """
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu":
        codes = codes.astype(np.intp)
    labels = np.asarray(labels, dtype=object)
    table = pd.Index(labels, dtype=object)
    # strictly increasing: sorted and distinct, and (beyond one label) free of nulls, which do not compare
    if (
        len(table)
        and table.is_monotonic_increasing
        and table.is_unique
        and (len(table) > 1 or not table.hasnans)
    ):
        return _sorted_labelled(codes, table)
    # the labels the lots use, nulls made "no value", sorted and equal neighbours merged: on the small table
    # (never per lot). Python's sort of the strings, then one comparison of neighbours, costs a third of
    # hashing them (factorize) and sorting the distinct ones (numpy's object argsort), for the same order.
    used = _used(codes, len(labels))
    used &= ~pd.isna(labels)
    present = np.flatnonzero(used)
    if not len(present):
        return np.full(len(codes), None, dtype=object)
    values = labels[present].tolist()
    order = np.array(sorted(range(len(values)), key=values.__getitem__), dtype=np.intp)
    ordered = labels[present[order]]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = np.asarray(ordered[1:] != ordered[:-1], dtype=bool)
    categories = pd.Index(ordered[new], dtype=object)
    remap = np.full(len(labels) + 1, -1, dtype=_code_dtype(len(categories)))  # code -1 takes the last, -1
    remap[present[order]] = np.cumsum(new) - 1
    categories.is_monotonic_increasing  # noqa: B018 - strictly increasing: proves them unique, unhashed
    return pd.Categorical.from_codes(remap[codes], categories=categories)


def _sorted_labelled(
    codes: npt.NDArray[np.intp], table: pd.Index
) -> pd.Categorical | npt.NDArray[np.object_]:
    """:func:`labelled` of labels already sorted and distinct (no null): no hashing, no sort.

    A stage that sorted its ~10⁵ distinct texts itself hands them over in order; after pandas found them
    strictly increasing it knows them unique without building a hash table of every text.
    """
    used = _used(codes, len(table))
    if not used.any():
        return np.full(len(codes), None, dtype=object)
    if used.all():
        return pd.Categorical.from_codes(codes, categories=table)
    keep = np.flatnonzero(used)
    remap = np.full(len(table) + 1, -1, dtype=_code_dtype(len(keep)))  # code -1 takes the last entry, -1
    remap[keep] = np.arange(len(keep))
    categories = table[keep]
    categories.is_monotonic_increasing  # noqa: B018 - a subset of sorted texts: proves them unique, unhashed
    return pd.Categorical.from_codes(remap[codes], categories=categories)


def labelled_arrow(codes: npt.ArrayLike, texts: pa.Array) -> pd.Categorical | npt.NDArray[np.object_]:
    """:func:`labelled` of texts built in Arrow (``texts[codes]``; no null text, no code -1).

    Arrow sorts the texts (UTF-8 byte order is Python's code point order) and merges equal neighbours, then
    a Python string is made per distinct text, in sorted order (adjacent in memory for the checks that follow;
    putting strings made unsorted in order as pointers was slower): :func:`labelled` receives them sorted
    and distinct and neither hashes nor sorts them again.

    Parameters
    ----------
    codes : array-like of int
        Per lot, a position in ``texts``.
    texts : pyarrow.Array of str
        The texts (may repeat), none null.

    Returns
    -------
    pandas.Categorical or numpy.ndarray
        As :func:`labelled`.
    """
    order = pc.call_function("array_sort_indices", [texts])  # ascending, by bytes
    ordered = texts.take(order)
    new = np.ones(len(ordered), dtype=bool)
    if len(ordered) > 1:  # different codes may read the same: equal neighbours are one text
        same = pc.call_function("equal", [ordered.slice(1), ordered.slice(0, len(ordered) - 1)])
        new[1:] = ~same.to_numpy(zero_copy_only=False)
    rank = np.empty(len(ordered), dtype=_code_dtype(len(ordered)))  # small codes per lot: less fresh memory
    rank[order.to_numpy()] = np.cumsum(new) - 1
    if not new.all():
        ordered = ordered.filter(pa.array(new))
    return labelled(rank[np.asarray(codes)], ordered.to_numpy(zero_copy_only=False))


def _used(codes: npt.NDArray[np.integer], size: int) -> npt.NDArray[np.bool_]:
    """Mark which of ``size`` labels the codes use (code -1 marks a spare last entry): no array per lot."""
    used = np.zeros(size + 1, dtype=bool)
    used[codes] = True
    return used[:-1]


def _code_dtype(n_categories: int) -> type[np.signedinteger]:
    """Return the integer type pandas keeps a categorical's codes in: codes made in it are not copied."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def by_combination(
    keys: npt.ArrayLike, text: Callable[[int], str | None]
) -> pd.Categorical | npt.NDArray[np.object_]:
    """Per-lot texts that depend only on an integer key per lot (a combination of flags, say).

    ``text`` is called once per distinct key (a few hundred for the reasons of 1 M lots), never per lot.

    Parameters
    ----------
    keys : array-like of int
        Per lot, an integer that determines its text.
    text : callable
        ``text(key)`` → the text for that key, or None for no value.

    Returns
    -------
    pandas.Categorical or numpy.ndarray
        As :func:`labelled`.

    Examples
    --------
    >>> import numpy as np
    >>> cat = by_combination(np.array([3, 0, 3]), lambda k: "ok" if k == 0 else f"faltan {k}")
    >>> cat.tolist()
    ['faltan 3', 'ok', 'faltan 3']
    """
    group, distinct = pd.factorize(np.asarray(keys))
    texts = np.empty(len(distinct), dtype=object)
    texts[:] = [text(int(k)) for k in np.asarray(distinct).tolist()]
    return labelled(group, texts)


__all__ = ["by_combination", "labelled", "labelled_arrow"]

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
    codes = np.asarray(codes, dtype=np.intp)
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
    # equal labels merged and null labels made "no value", on the small table (never per lot)
    label_code, uniques = pd.factorize(labels, use_na_sentinel=True)
    mapped = np.r_[label_code, -1].astype(np.intp)[codes]  # code -1 takes the appended -1
    has = mapped >= 0
    used = np.bincount(mapped[has], minlength=len(uniques)) > 0
    if not used.any():
        return np.full(len(codes), None, dtype=object)
    present = np.asarray(uniques, dtype=object)[used]
    order = np.argsort(present, kind="stable")  # the order compact_text sorts its uniques in
    rank = np.empty(len(present), dtype=np.intp)
    rank[order] = np.arange(len(present), dtype=np.intp)
    remap = np.full(len(uniques) + 1, -1, dtype=np.intp)
    remap[np.flatnonzero(used)] = rank
    categories = pd.Index(present[order], dtype=object)
    return pd.Categorical.from_codes(remap[mapped], categories=categories)


def _sorted_labelled(
    codes: npt.NDArray[np.intp], table: pd.Index
) -> pd.Categorical | npt.NDArray[np.object_]:
    """:func:`labelled` of labels already sorted and distinct (no null): no hashing, no sort.

    A stage that sorted its ~10⁵ distinct texts itself hands them over in order; after pandas found them
    strictly increasing it knows them unique without building a hash table of every text.
    """
    used = np.bincount(codes[codes >= 0], minlength=len(table)) > 0
    if not used.any():
        return np.full(len(codes), None, dtype=object)
    if used.all():
        return pd.Categorical.from_codes(codes, categories=table)
    keep = np.flatnonzero(used)
    remap = np.full(len(table) + 1, -1, dtype=np.intp)  # code -1 takes the last entry, -1
    remap[keep] = np.arange(len(keep), dtype=np.intp)
    categories = table[keep]
    categories.is_monotonic_increasing  # noqa: B018 - a subset of sorted texts: proves them unique, unhashed
    return pd.Categorical.from_codes(remap[codes], categories=categories)


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


__all__ = ["by_combination", "labelled"]

"""quitogeo.categories builds exactly the categoricals compact_text makes of the same texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from quitogeo.categories import by_combination, labelled
from quitogeo.pipeline import compact_text

LABELS = st.lists(
    st.one_of(st.none(), st.sampled_from(["", "a", "b", "Ñandú", "z z", "B"])), min_size=1, max_size=6
)


def _as_compact(values: np.ndarray) -> pd.Series:
    return compact_text(pd.DataFrame({"t": pd.Series(values, dtype=object)}))["t"]


@settings(max_examples=200, deadline=None)
@given(labels=LABELS, data=st.data())
def test_labelled_equals_compact_text_of_the_same_texts(
    labels: list[str | None], data: st.DataObject
) -> None:
    table = np.array(labels, dtype=object)
    codes = np.array(
        data.draw(st.lists(st.integers(-1, len(labels) - 1), min_size=0, max_size=30)), dtype=np.intp
    )
    expected = _as_compact(np.array([None if c < 0 else table[c] for c in codes], dtype=object))
    got = pd.Series(labelled(codes, table))
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_unused_and_repeated_labels_are_dropped_and_sorted() -> None:
    cat = labelled(np.array([3, 1, 1, -1]), np.array(["x", "b", "unused", "b", None], dtype=object))
    assert isinstance(cat, pd.Categorical)
    assert list(cat.categories) == ["b"]  # "x" and "unused" are not used; both "b" labels are one category
    assert cat.codes.tolist() == [0, 0, 0, -1]


def test_no_value_at_all_is_an_object_column_of_none() -> None:
    out = labelled(np.array([-1, 0]), np.array([None], dtype=object))
    assert isinstance(out, np.ndarray) and out.dtype == object and out.tolist() == [None, None]


def test_by_combination_calls_the_text_once_per_key() -> None:
    calls: list[int] = []

    def text(key: int) -> str | None:
        calls.append(key)
        return None if key == 7 else f"k{key}"

    cat = by_combination(np.array([5, 7, 5, 2, 5]), text)
    assert sorted(calls) == [2, 5, 7]
    values = pd.Series(cat)
    assert values[[0, 2, 4]].tolist() == ["k5", "k5", "k5"] and values[3] == "k2" and pd.isna(values[1])
    assert list(cat.categories) == ["k2", "k5"]


@settings(max_examples=100, deadline=None)
@given(labels=LABELS, data=st.data(), dtype=st.sampled_from([np.int8, np.int16, np.int32, np.int64]))
def test_labelled_takes_codes_of_any_integer_type(
    labels: list[str | None], data: st.DataObject, dtype: type[np.signedinteger]
) -> None:
    # the stages hand over codes in the smallest type that holds them: same categorical whatever the type
    table = np.array(labels, dtype=object)
    drawn = data.draw(st.lists(st.integers(-1, len(labels) - 1), min_size=1, max_size=30))
    got = labelled(np.array(drawn, dtype=dtype), table)
    want = labelled(np.array(drawn, dtype=np.intp), table)
    if isinstance(want, pd.Categorical):
        assert isinstance(got, pd.Categorical)
        pd.testing.assert_series_equal(pd.Series(got), pd.Series(want))
        assert got.codes.dtype == want.codes.dtype
    else:
        assert list(got) == list(want)


def test_many_unsorted_labels_sort_as_compact_text() -> None:
    # the general path sorts the used labels itself (Python's order of str, as compact_text's argsort)
    rng = np.random.default_rng(5)
    words = np.array([f"motivo {k:05d} {'ñ' if k % 7 else 'Z'}" for k in rng.permutation(3000)], dtype=object)
    codes = rng.integers(-1, len(words), 10_000)
    expected = _as_compact(np.array([None if c < 0 else words[c] for c in codes], dtype=object))
    pd.testing.assert_series_equal(pd.Series(labelled(codes, words)), expected, check_names=False)

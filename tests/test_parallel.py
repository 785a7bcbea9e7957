"""quitogeo.parallel: how threads share the cores, and that the split never changes a result."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import shapely

from quitogeo import parallel


@pytest.fixture
def four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.ENV_THREADS, "4")


def test_serial_wins_and_outside_every_core(four_cores: None) -> None:
    assert parallel.n_threads() == 4
    with parallel.serial():
        assert parallel.n_threads() == 1
        with parallel.shared_cores():
            assert parallel.n_threads() == 1  # a chunked worker stays on its core
    assert parallel.n_threads() == 4


def test_shared_cores_split_among_the_threads_inside(four_cores: None) -> None:
    """Four cores: one thread inside gets 4, two get 2 each, three get 1 each (4 // 3), and back."""
    seen: dict[str, int] = {}
    inside = threading.Barrier(3)  # the two workers and this thread
    counted = threading.Barrier(3)

    def worker(name: str) -> None:
        with parallel.shared_cores():
            inside.wait()
            seen[name] = parallel.n_threads()
            counted.wait()  # nobody leaves before all have counted

    with parallel.shared_cores():
        assert parallel.n_threads() == 4
        threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        inside.wait()
        assert parallel.n_threads() == 1  # three inside: 4 // 3
        counted.wait()
        for t in threads:
            t.join()
        assert seen == {"a": 1, "b": 1}
        assert parallel.n_threads() == 4  # the others have left: all four again
    assert parallel.n_threads() == 4


def test_the_result_does_not_depend_on_the_split(four_cores: None) -> None:
    rng = np.random.default_rng(3)
    pts = shapely.points(rng.uniform(0, 100, (50_000, 2)))
    whole = shapely.distance(pts, shapely.Point(50, 50))
    with parallel.shared_cores():
        split = parallel.elementwise(shapely.distance, pts, shapely.Point(50, 50), min_chunk=1_000)
    with parallel.serial():
        one = parallel.elementwise(shapely.distance, pts, shapely.Point(50, 50), min_chunk=1_000)
    np.testing.assert_array_equal(split, whole)
    np.testing.assert_array_equal(one, whole)

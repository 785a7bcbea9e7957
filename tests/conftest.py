"""Shared pytest fixtures (keep this file small and generic).

Fixtures
--------
chromium_path
    Path to a headless-capable Chromium executable for browser tests (map, documents). Looks at
    ``$QUITOGEO_CHROMIUM`` first, then Debian's ``/usr/bin/chromium``, then ``chromium``/``chromium-browser``
    on the PATH. Skips the test, with the reason, when none exists or when the Playwright python package is
    missing. Never downloads a browser. Launch it with :data:`CHROMIUM_ARGS`, e.g.::

        def test_page(chromium_path):
            from playwright.sync_api import sync_playwright
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)

    (``from conftest import CHROMIUM_ARGS``), and ``pytest.skip`` if the launch itself fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# One definition of "which Chromium, with which flags" for the library (PDF printing) and the tests.
from quitogeo.export.documents.render import CHROMIUM_ARGS as _LIB_CHROMIUM_ARGS
from quitogeo.export.documents.render import find_chromium as _find_chromium

#: Flags for a headless Chromium on a machine without network, GPU or user namespace sandbox.
CHROMIUM_ARGS: list[str] = list(_LIB_CHROMIUM_ARGS)


def find_chromium() -> Path | None:
    """The Chromium executable to use, or None when there is none (``$QUITOGEO_CHROMIUM`` first)."""
    found = _find_chromium()
    return Path(found) if found else None


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Path to a Chromium executable; skips with the reason when unavailable (see the module docstring)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("el paquete python 'playwright' no está instalado (pip install -e '.[browser]')")
    path = find_chromium()
    if path is None:
        pytest.skip(
            "no hay Chromium: instale el paquete Debian 'chromium' (/usr/bin/chromium) o defina "
            "QUITOGEO_CHROMIUM"
        )
    return path

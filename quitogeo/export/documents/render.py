"""HTML (jinja2 templates) and PDF (headless Chromium's print) for the per-lot documents.

The PDF is Chromium printing the very HTML the citizen could open, on A4 as the templates' CSS ``@page``
says: Playwright drives it when installed (the ``browser`` extra), else the ``chromium --headless
--print-to-pdf`` command line. No hand-written PDF. The browser is found with :func:`find_chromium`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from quitogeo.errors import DocumentError, OutputExistsError
from quitogeo.formatting import (
    SIN_DATO,
    format_bool,
    format_date,
    format_money,
    format_number,
)

#: Environment variable that names the Chromium executable to use.
CHROMIUM_ENV = "QUITOGEO_CHROMIUM"
_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a closed network and containers (no sandbox, no GPU, no background traffic).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def find_chromium(path: str | Path | None = None) -> str | None:
    """Return the Chromium executable to print with, or None when there is none.

    Parameters
    ----------
    path : str or Path, optional
        An explicit executable; else ``$QUITOGEO_CHROMIUM``, else ``/usr/bin/chromium`` or the first of
        ``chromium``, ``chromium-browser``, ``google-chrome`` on the PATH.

    Returns
    -------
    str or None
    """
    for candidate in (path, os.environ.get(CHROMIUM_ENV), *_CANDIDATES):
        if not candidate:
            continue
        found = shutil.which(str(candidate))
        if found:
            return found
    return None


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    # one environment per process: it caches the compiled templates (a batch renders thousands of documents)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("quitogeo.export.documents", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,  # a template typo is an error, not a silently empty field
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_money
    env.filters["number"] = format_number
    env.filters["fecha"] = format_date
    env.filters["sino"] = format_bool
    env.globals["SIN_DATO"] = SIN_DATO
    return env


def render_html(template: str, context: dict[str, Any]) -> str:
    """Render one of the package's templates.

    Parameters
    ----------
    template : str
        File name in ``quitogeo/export/documents/templates`` (``iprus.html``, ``liquidacion.html``).
    context : dict
        The template variables.

    Returns
    -------
    str
        The HTML document.
    """
    return _env().get_template(template).render(**context)


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Refuse to overwrite ``path`` unless ``overwrite``; create its folder.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is False.
    """
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} ya existe; use --overwrite para reemplazarlo o indique otro --out")
    path.parent.mkdir(parents=True, exist_ok=True)


def write_html(html: str, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write an HTML document (UTF-8), refusing to overwrite unless asked.

    Parameters
    ----------
    html : str
        The document.
    path : str or Path
        Where to write.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    Path
    """
    out = Path(path)
    check_writable(out, overwrite=overwrite)
    out.write_text(html, encoding="utf-8")
    return out


def html_to_pdf(
    documents: Sequence[str],
    outs: Sequence[str | Path],
    *,
    chromium: str | Path | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Print HTML documents to A4 PDFs with headless Chromium (one browser for the whole batch).

    Parameters
    ----------
    documents : sequence of str
        HTML documents (self-contained: the templates inline their CSS and SVG).
    outs : sequence of str or Path
        One PDF path per document.
    chromium : str or Path, optional
        The browser executable (see :func:`find_chromium`).
    overwrite : bool, optional
        Replace existing files.

    Returns
    -------
    list of Path

    Raises
    ------
    DocumentError
        When no Chromium is found or printing fails.
    """
    if len(documents) != len(outs):
        raise ValueError("html_to_pdf: una salida por documento")
    paths = [Path(p) for p in outs]
    for p in paths:
        check_writable(p, overwrite=overwrite)
    exe = find_chromium(chromium)
    if exe is None:
        raise DocumentError(
            "no se encontró Chromium para generar el PDF; instálelo (p. ej. 'apt-get install chromium') o "
            f"indique su ruta en la variable {CHROMIUM_ENV}; el HTML sí puede generarse sin --pdf"
        )
    try:
        import playwright.sync_api  # noqa: F401  (optional extra "browser")
    except ImportError:
        for html, out in zip(documents, paths, strict=True):
            _print_with_cli(exe, html, out)
        return paths
    _print_with_playwright(exe, documents, paths)
    return paths


def _print_with_playwright(exe: str, documents: Sequence[str], paths: Sequence[Path]) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page()
                for html, out in zip(documents, paths, strict=True):
                    page.set_content(html, wait_until="load")
                    # prefer_css_page_size: the templates' @page size A4 and margins rule
                    page.pdf(path=str(out), format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise DocumentError(f"Chromium ({exe}) no pudo imprimir el PDF: {exc}") from exc


def _print_with_cli(exe: str, html: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="quitogeo-pdf-") as tmp:
        src = Path(tmp) / "documento.html"
        src.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            "--headless",
            *CHROMIUM_ARGS,
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0 or not out.exists():
            raise DocumentError(f"Chromium ({exe}) no pudo imprimir {out}: {proc.stderr.strip()[-300:]}")


__all__ = [
    "CHROMIUM_ARGS",
    "CHROMIUM_ENV",
    "check_writable",
    "find_chromium",
    "html_to_pdf",
    "render_html",
    "write_html",
]

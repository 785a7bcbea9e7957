"""The notebooks of ``notebooks/`` run end to end on the sample project and are stored without outputs.

Each notebook is executed cell by cell with nbclient in a kernel of *this* interpreter (a kernelspec written
to a temporary folder whose argv is ``sys.executable``, so the kernel sees the same venv and the same editable
quitogeo as pytest, whatever ``python`` or a user-level ``python3`` kernelspec would resolve to). The kernel's
working directory is a temporary folder; a failing cell is reported by notebook, cell number and source.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import quitogeo

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "quitogeo-test-venv"
#: Per-cell limit (s): generous for slow CI machines; each notebook takes seconds on the sample.
CELL_TIMEOUT = 300
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="session")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernelspec that starts ``sys.executable -m ipykernel_launcher``, found first on JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "quitogeo (venv de las pruebas)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    patch = pytest.MonkeyPatch()
    patch.setenv("JUPYTER_PATH", str(root))
    # no stray user config (e.g. a startup script) may change what the notebooks see
    patch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
    # connection files in a temporary folder too: CI's home may be read-only
    patch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path_factory.mktemp("jupyter_runtime")))
    yield KERNEL
    patch.undo()


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _execute(nb: nbformat.NotebookNode, *, name: str, kernel: str, cwd: Path) -> None:
    """Run every cell in order; on an error, fail naming the notebook, the cell and its source."""
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        resources={"metadata": {"path": str(cwd)}},
    )
    failure = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                # the error text holds the cell's source and the kernel's traceback (without terminal colours)
                where = f"{name}: falló la celda {index} (contando desde 0, con las de texto)"
                failure = f"{where}\n{_ANSI.sub('', str(exc))}"
                break
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def test_there_are_notebooks() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert {"01_recorrido_analista.ipynb", "02_cod_a_mano.ipynb", "03_paquete_registro.ipynb"} <= set(names)
    assert "04_documentos.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: las celdas {dirty} tienen salidas o número de ejecución guardados; límpielas antes de "
        "confirmar (Jupyter: Edit → Clear Outputs of All Cells; o vea notebooks/README.md)"
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "widgets" not in nb.metadata, f"{path.name}: estado de widgets guardado en los metadatos"


@pytest.mark.slow
def test_kernel_runs_this_interpreter_and_this_quitogeo(kernel_name: str, tmp_path: Path) -> None:
    probe = "import sys, quitogeo\nprint(sys.executable)\nprint(quitogeo.__file__)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    _execute(nb, name="sonda", kernel=kernel_name, cwd=tmp_path)
    lines = nb.cells[0].outputs[0]["text"].splitlines()
    assert Path(lines[0]).resolve() == Path(sys.executable).resolve()
    assert Path(lines[1]).resolve() == Path(quitogeo.__file__).resolve()


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_end_to_end(path: Path, kernel_name: str, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    before = _snapshot(NOTEBOOK_DIR)
    _execute(nb, name=path.name, kernel=kernel_name, cwd=tmp_path)
    # every code cell ran (none skipped) and the notebooks wrote nothing beside themselves
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)
    assert _snapshot(NOTEBOOK_DIR) == before, "el cuaderno escribió en notebooks/ (use una carpeta temporal)"
    errors = [o for c in code_cells for o in c.outputs if o.get("output_type") == "error"]
    assert not errors

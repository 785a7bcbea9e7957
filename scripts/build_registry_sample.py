"""Build (and check) the PPCCAAMM registry package of the embedded sample project.

Usage: python scripts/build_registry_sample.py [--fecha 2026-11] [--out salida/registro] [--ordenanza PDF]
Writes OUT/17012611/ and OUT/17012611.zip, then prints check_registry's findings (exit 1 if any blocks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from quitogeo.export.registry import build_registry, check_registry
from quitogeo.io import read_project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fecha", default="2026-11", help="mes de entrega AAAA-MM")
    parser.add_argument("--out", type=Path, default=Path("salida") / "registro", help="carpeta de salida")
    parser.add_argument("--ordenanza", type=Path, default=None, help="PDF de la ordenanza (se copia en ORD/)")
    args = parser.parse_args()
    package = build_registry(
        read_project(),
        fecha=args.fecha,
        out_dir=args.out,
        zip=True,
        ordenanza_pdf=args.ordenanza,
        overwrite=True,
    )
    print(f"paquete: {package} (+ {package.name}.zip)")
    problems = check_registry(package)
    for row in problems.itertuples(index=False):
        print(f"{'ERROR' if row.bloqueante else 'AVISO'}: {row.ruta}: {row.problema}")
    return 1 if problems["bloqueante"].any() else 0


if __name__ == "__main__":
    sys.exit(main())

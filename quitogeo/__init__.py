"""Quitogeo: may this lot build more, under which rule, and what does the city collect for it.

A flat public API over the pipeline load → validate → join → eligibility → calc → export. Names are imported
lazily so that ``import quitogeo`` stays light (the calc core needs no GIS stack).

Examples
--------
>>> import quitogeo
>>> rules = quitogeo.load_rules()
>>> rules.version
'quito-2024.1'
"""

from __future__ import annotations

import importlib
from typing import Any

from quitogeo._version import __version__
from quitogeo.errors import (
    CalcInputError,
    CRSError,
    DataIntegrityError,
    LayerError,
    OutputExistsError,
    PaymentPlanError,
    PreconditionError,
    ProjectNotFoundError,
    QuitogeoError,
    RegistryError,
    RulesError,
)
from quitogeo.rules import Rules, load_rules

#: public name → module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    # calc core (pure)
    "compute_cod": "quitogeo.calc",
    "CodResult": "quitogeo.calc",
    "beta_lookup": "quitogeo.calc",
    "cod_frame": "quitogeo.calc",
    # inputs
    "Project": "quitogeo.io",
    "read_project": "quitogeo.io",
    "sample_project_path": "quitogeo.io",
    "TM_QUITO": "quitogeo.io.crs",
    "to_tm_quito": "quitogeo.io.crs",
    "validate_project": "quitogeo.validate",
    "make_sample_project": "quitogeo.sample",
    "write_sample_project": "quitogeo.sample",
    # the run
    "run": "quitogeo.pipeline",
    "RunResult": "quitogeo.pipeline",
    "write_results": "quitogeo.export.gpkg",
    "read_results": "quitogeo.export.gpkg",
    "detect_ambitos": "quitogeo.ambitos",
    "join_puos": "quitogeo.ambitos",
    # outputs
    "make_map": "quitogeo.export.map",
    "build_registry": "quitogeo.export.registry",
    "check_registry": "quitogeo.export.registry",
    # per-lot documents
    "render_iprus": "quitogeo.export.documents.iprus",
    "write_iprus": "quitogeo.export.documents.iprus",
    "write_iprus_batch": "quitogeo.export.documents.iprus",
    "liquidacion_desde_calc": "quitogeo.export.documents.liquidacion",
    "liquidacion_desde_resultados": "quitogeo.export.documents.liquidacion",
    "write_liquidacion": "quitogeo.export.documents.liquidacion",
    "build_plan": "quitogeo.export.documents.payments",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'quitogeo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CRSError",
    "CalcInputError",
    "DataIntegrityError",
    "LayerError",
    "OutputExistsError",
    "PaymentPlanError",
    "PreconditionError",
    "ProjectNotFoundError",
    "QuitogeoError",
    "RegistryError",
    "Rules",
    "RulesError",
    "__version__",
    "load_rules",
    *_LAZY,
]

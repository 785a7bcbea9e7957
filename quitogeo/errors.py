"""Errors raised by quitogeo.

Every error derives from :class:`QuitogeoError`; the specific ones also subclass the builtin they refine,
so ``except ValueError`` keeps working for callers who do not know quitogeo. Messages state the offending
value and the fix, because they are shown as they are to a technician at the counter (the CLI prints
them on one line).
"""

from __future__ import annotations


class QuitogeoError(Exception):
    """Root of every quitogeo error."""


class RulesError(QuitogeoError, ValueError):
    """The rules file is malformed: unknown key, missing table cell, value out of its legal range."""


class CalcInputError(QuitogeoError, ValueError):
    """An input of the calc core is invalid (negative, non-finite, out of range or missing for the ámbito).

    Parameters
    ----------
    message : str
        The explanation, naming the parameter, its value and the fix.
    parameter : str, optional
        The name of the offending parameter (as the CLI spells it, e.g. ``alfa``).
    rule : str, optional
        The article or section of the norm that the value breaks.
    """

    def __init__(self, message: str, *, parameter: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.rule = rule


class PreconditionError(CalcInputError):
    """A legal precondition of an ámbito fails (e.g. Anexo 01 §2.2.2 for ``lote-minimo``)."""


class LayerError(QuitogeoError, ValueError):
    """A layer cannot be used: missing, unreadable, without CRS, or missing a required column.

    Parameters
    ----------
    message : str
        The explanation with the fix.
    layer : str, optional
        The canonical layer name (``predios``, ``pugs`` …).
    source : str, optional
        The file or data source the layer was read from.
    """

    def __init__(self, message: str, *, layer: str | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.layer = layer
        self.source = source


class ProjectNotFoundError(QuitogeoError, FileNotFoundError):
    """The project path does not exist or holds none of the layers of the contract."""


class CRSError(QuitogeoError, ValueError):
    """A layer's CRS is missing, unrecognised, or its coordinates do not fit the declared CRS."""


class OutputExistsError(QuitogeoError, FileExistsError):
    """An output already exists and ``overwrite`` was not given."""


class DataIntegrityError(QuitogeoError, RuntimeError):
    """An internal consistency check failed (e.g. a lot would be lost between input and output)."""


class RegistryError(QuitogeoError, ValueError):
    """A PPCCAAMM registry package is invalid or cannot be built."""


class PaymentPlanError(QuitogeoError, ValueError):
    """A payment plan for the COD breaks Anexo 01 §3 (e.g. an upfront share below 20 %)."""


class DocumentError(QuitogeoError, RuntimeError):
    """A per-lot document (IPRUS, liquidación) cannot be produced (lot not found, no browser for the PDF)."""


__all__ = [
    "CRSError",
    "CalcInputError",
    "DataIntegrityError",
    "DocumentError",
    "LayerError",
    "OutputExistsError",
    "PaymentPlanError",
    "PreconditionError",
    "ProjectNotFoundError",
    "QuitogeoError",
    "RegistryError",
    "RulesError",
]

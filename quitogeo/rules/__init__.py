"""The normative parameters as versioned data.

A rules file (TOML) holds every threshold, table and parameter of the norm (normativa.md §6). The package
ships one per normative version; a user passes their own with ``--rules FILE`` or :func:`load_rules`. Loading
checks the file against :data:`SCHEMA`: an unknown key, a missing table cell or a value out of its legal range
is a :class:`~quitogeo.errors.RulesError` naming the key and the fix, never a silent default.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from quitogeo.errors import RulesError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Name of the rules file used when none is given.
DEFAULT_RULES = "quito_2024.toml"

_NUM = (int, float)

# Schema: a dict maps each allowed key to its spec. A spec is a type or tuple of types, a nested dict, a
# ``("map", spec)`` for free-form keys whose values follow ``spec``, or a ``("list", spec)``.
_LEVEL = {"puntaje_min": _NUM, "cet_pct": _NUM, "metro_pct": _NUM}
_DENSITY = {"m2_por_hab_min": _NUM, "m2_por_hab_max": _NUM, "puntos": _NUM}
_EQ_RES = {"uso_puos": str, "pisos_min": int, "pisos_max": int, "uso_pugs": str}
_EQ_IND = {"uso_puos": str, "uso_pugs": str}
_SCENARIO = {"tipo": str, "descripcion": str, "pisos": int, "puntaje": _NUM}

SCHEMA: dict[str, Any] = {
    "version": str,
    "fuente": str,
    "verificado": bool,
    "nota": str,
    "beta": {
        "aiva_limites": ("list", _NUM),
        "ic_limites": ("list", _NUM),
        "tabla": ("list", ("list", _NUM)),
        "ic_sin_ae": _NUM,
    },
    "valor_suelo": {
        "alfa_min": _NUM,
        "alfa_max": _NUM,
        "alfa": _NUM,
        "estructura_predeterminada": str,
        "vc": ("map", _NUM),
        "fu": ("map", _NUM),
    },
    "ir": {
        "ircu_residencial": _NUM,
        "ircu_industrial": _NUM,
        "interpretacion": str,
        "equivalencias_residenciales": ("list", _EQ_RES),
        "equivalencias_industriales": ("list", _EQ_IND),
        "por_administracion_zonal": ("map", {"ircu": _NUM, "irlm": _NUM}),
    },
    "usos": {
        "categorias": ("map", {"nombre": str, "fu": str, "grupo": str}),
        "homologacion": ("map", str),
    },
    "umbrales": {
        "area_min_zuae_m2": _NUM,
        "pisos_max_zuae": int,
        "ancho_min_via_m": _NUM,
        "area_min_ecoeficiencia_m2": _NUM,
        "vis_fraccion_min": _NUM,
        "usos_excluidos_cos_pb": ("list", str),
        "usos_ecoeficiencia": ("list", str),
    },
    "ecoeficiencia": {
        "redondeo_pisos": str,
        "niveles": ("list", _LEVEL),
        "puntos_densidad": ("list", _DENSITY),
    },
    "exoneracion": {"ambitos": ("list", str)},
    "influencia": {"radio_metro_m": _NUM, "radio_cet_m": _NUM},
    "tolerancias": {
        "aiva_min_overlap_m2": _NUM,
        "frente_tolerancia_m": _NUM,
        "frente_min_m": _NUM,
        "pit_min_share": _NUM,
        "zona_min_overlap_m2": _NUM,
        "red_vial_precision_m": _NUM,
        "ae_decimales": int,
    },
    "pagos": {
        "cronograma_contado_min": _NUM,
        "cronograma_cuotas": int,
        "cronograma_periodo_meses": int,
        "mixto_contado_min_sobre": str,
    },
    "escenarios": ("scenarios", _SCENARIO),
    "registro": {
        "provincia_inec": str,
        "canton_inec": str,
        "subcarpetas": ("list", str),
    },
    # quitogeo.ambitos (PUOS → PUGS comparison, Anexo 01 §2.1–2.3); see the comments in quito_2024.toml.
    "ambitos": {
        "puos_min_fraccion": _NUM,
        "clasificacion_rural": ("list", str),
        "clasificacion_urbana": ("list", str),
        "equivalencias_cobran": bool,
        "clasificacion_usa_tabla_az": bool,
        "linea_base_edificabilidad": str,
        "ae_min_m2": _NUM,
        "lote_minimo_lotes_resultantes": int,
        "capa_beneficios": str,
    },
}

# Keys that may be absent inside a nested table (everything else is required).
_OPTIONAL = {
    "nota",
    "pagos.mixto_contado_min_sobre",
    "escenarios.*.pisos",
    "escenarios.*.puntaje",
    "escenarios.*.descripcion",
}
_SCENARIO_TYPES = {"pugs_maxima", "zuae", "ecoeficiencia"}


@dataclass(frozen=True)
class Rules(Mapping[str, Any]):
    """A validated rules file.

    Behaves as a read-only mapping of its TOML tables (``rules["beta"]["tabla"]``) and exposes the identity
    every result must record: :attr:`version`, :attr:`fuente`, :attr:`verificado`, :attr:`source` and
    :attr:`sha256`.

    Parameters
    ----------
    data : dict
        The parsed and validated TOML content.
    source : str
        Where it was read from (a path, or ``package:<name>`` for a shipped file).
    sha256 : str
        Hash of the file's bytes, to audit which rules produced a result.
    """

    data: dict[str, Any]
    source: str
    sha256: str

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def version(self) -> str:
        """Normative version label, e.g. ``quito-2024.1``."""
        return str(self.data["version"])

    @property
    def fuente(self) -> str:
        """The ordinances and resolutions the file transcribes."""
        return str(self.data["fuente"])

    @property
    def verificado(self) -> bool:
        """Whether every PARAM value was checked against its official source."""
        return bool(self.data["verificado"])

    @property
    def alfa(self) -> float:
        """α of the rules file (PARAM)."""
        return float(self.data["valor_suelo"]["alfa"])

    def scenario(self, name: str | None = None) -> dict[str, Any]:
        """Return the scenario ``name`` (the file's default when None) with its ``nombre`` added.

        Raises
        ------
        RulesError
            When the scenario does not exist; the message lists the ones that do.
        """
        escenarios = self.data["escenarios"]
        chosen = name or escenarios["predeterminado"]
        if chosen == "predeterminado" or chosen not in escenarios:
            known = ", ".join(k for k in escenarios if k != "predeterminado")
            raise RulesError(
                f"escenario {chosen!r} no existe en las reglas {self.source}; use uno de: {known}"
            )
        return {"nombre": chosen, **escenarios[chosen]}

    def homologate_use(self, code: object) -> str | None:
        """Return the canonical use category of a layer's use code, or None when unknown.

        Matching ignores case and surrounding spaces (``" ru2 "`` → ``"R2"``).
        """
        if code is None or (isinstance(code, float) and math.isnan(code)):
            return None
        key = str(code).strip().casefold()
        return self._homologation_index.get(key)

    @property
    def _homologation_index(self) -> dict[str, str]:
        cache = self.__dict__.get("_homolog_cache")
        if cache is None:
            cache = {k.strip().casefold(): v for k, v in self.data["usos"]["homologacion"].items()}
            object.__setattr__(self, "_homolog_cache", cache)
        return cache

    def metadata(self) -> dict[str, Any]:
        """Identity of the rules for a result's ``metadatos``."""
        return {
            "reglas_version": self.version,
            "reglas_fuente": self.fuente,
            "reglas_verificado": self.verificado,
            "reglas_origen": self.source,
            "reglas_sha256": self.sha256,
        }


def _type_name(spec: Any) -> str:
    if spec is _NUM:
        return "número"
    if isinstance(spec, type):
        return {str: "texto", int: "entero", bool: "booleano"}.get(spec, spec.__name__)
    return "tabla"


def _check(value: Any, spec: Any, path: str, source: str) -> None:
    where = f"reglas {source}: clave '{path}'"
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise RulesError(f"{where} debe ser una tabla [{path}]")
        for key, sub in value.items():
            if key not in spec:
                allowed = ", ".join(sorted(spec))
                full = f"{path}.{key}" if path else key
                raise RulesError(
                    f"reglas {source}: clave desconocida '{full}'; las permitidas"
                    f"{' en [' + path + ']' if path else ''} son: {allowed} "
                    "(corrija la ortografía o elimínela)"
                )
            _check(sub, spec[key], f"{path}.{key}" if path else key, source)
        for key in spec:
            full = f"{path}.{key}" if path else key
            generic = ".".join(
                [
                    "*" if i == 1 and path.startswith("escenarios") else p
                    for i, p in enumerate(full.split("."))
                ]
            )
            if key not in value and full not in _OPTIONAL and generic not in _OPTIONAL:
                raise RulesError(f"reglas {source}: falta la clave '{full}'; agréguela (vea quito_2024.toml)")
        return
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] in ("map", "list", "scenarios"):
        kind, inner = spec
        if kind == "list":
            if not isinstance(value, list):
                raise RulesError(f"{where} debe ser una lista")
            for i, item in enumerate(value):
                _check(item, inner, f"{path}[{i}]", source)
        elif kind == "map":
            if not isinstance(value, dict):
                raise RulesError(f"{where} debe ser una tabla")
            for key, item in value.items():
                _check(item, inner, f"{path}.{key}", source)
        else:  # scenarios: a `predeterminado` name plus one table per scenario
            if not isinstance(value, dict) or not isinstance(value.get("predeterminado"), str):
                raise RulesError(f"{where} necesita 'predeterminado' (nombre del escenario por defecto)")
            for key, item in value.items():
                if key != "predeterminado":
                    _check(item, inner, f"{path}.{key}", source)
        return
    # scalar
    if spec is _NUM:
        ok = isinstance(value, _NUM) and not isinstance(value, bool)
        if ok and not math.isfinite(float(value)):
            raise RulesError(f"{where} = {value} no es un número finito")
    elif spec is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, spec)
    if not ok:
        raise RulesError(f"{where} = {value!r} debe ser {_type_name(spec)}")


def _check_values(data: dict[str, Any], source: str) -> None:
    """Semantic checks beyond types: ranges, table shapes, cross references."""
    pre = f"reglas {source}"
    vs = data["valor_suelo"]
    lo, hi = float(vs["alfa_min"]), float(vs["alfa_max"])
    if not (0 < lo <= hi < 1):
        raise RulesError(f"{pre}: alfa_min={lo}, alfa_max={hi} no forman un rango válido dentro de (0, 1)")
    if not lo <= float(vs["alfa"]) <= hi:
        raise RulesError(
            f"{pre}: valor_suelo.alfa = {vs['alfa']} está fuera de [{lo}, {hi}] "
            "(Anexo 01 §2.2.1: α entre 7 % y 20 %); corrija el valor"
        )
    if vs["estructura_predeterminada"] not in vs["vc"]:
        raise RulesError(
            f"{pre}: valor_suelo.estructura_predeterminada = {vs['estructura_predeterminada']!r} no está en "
            f"[valor_suelo.vc] ({', '.join(vs['vc'])})"
        )
    for table in ("vc", "fu"):
        for key, val in vs[table].items():
            if val <= 0:
                raise RulesError(f"{pre}: valor_suelo.{table}.{key} = {val} debe ser > 0")
    beta = data["beta"]
    if len(beta["aiva_limites"]) != 2 or len(beta["ic_limites"]) != 2:
        raise RulesError(f"{pre}: beta.aiva_limites y beta.ic_limites deben tener 2 valores cada uno")
    aiva_lim, ic_lim = beta["aiva_limites"], beta["ic_limites"]
    if not (aiva_lim[0] < aiva_lim[1] and ic_lim[0] < ic_lim[1]):
        raise RulesError(f"{pre}: los límites de beta deben ser crecientes")
    tabla = beta["tabla"]
    if len(tabla) != 3 or any(len(row) != 3 for row in tabla):
        cells = sum(len(r) for r in tabla)
        raise RulesError(
            f"{pre}: beta.tabla debe tener 3 filas × 3 columnas (Anexo 01 Tabla 1); tiene {len(tabla)} "
            f"filas y {cells} celdas: complete la celda que falta"
        )
    for i, row in enumerate(tabla, 1):
        for j, b in enumerate(row, 1):
            if not 0 < b <= 1:
                raise RulesError(f"{pre}: beta.tabla fila {i} columna {j} = {b} debe estar en (0, 1]")
    for key in ("aiva_limites", "ic_limites"):
        if any(x < 0 for x in beta[key]):
            raise RulesError(f"{pre}: beta.{key} = {beta[key]} no puede tener valores negativos")
    if beta["ic_sin_ae"] < 0:
        raise RulesError(f"{pre}: beta.ic_sin_ae = {beta['ic_sin_ae']} debe ser ≥ 0 (normativa §1: IC = 0)")
    known_ambitos = (
        "uso",
        "edificabilidad",
        "lote-minimo",
        "edificabilidad-uso",
        "edificabilidad-lote-minimo",
    )
    for amb in data["exoneracion"]["ambitos"]:
        if amb not in known_ambitos:
            raise RulesError(
                f"{pre}: exoneracion.ambitos contiene {amb!r}; use ámbitos de: {', '.join(known_ambitos)}"
            )
    if data["ir"]["interpretacion"] not in ("indice", "multiplicador"):
        raise RulesError(f"{pre}: ir.interpretacion debe ser 'indice' o 'multiplicador'")
    cats = data["usos"]["categorias"]
    for code, cat in data["usos"]["homologacion"].items():
        if cat not in cats:
            raise RulesError(
                f"{pre}: usos.homologacion.{code!r} = {cat!r} no es una categoría de [usos.categorias]"
            )
    for code, cat in cats.items():
        if cat["fu"] not in vs["fu"]:
            raise RulesError(f"{pre}: usos.categorias.{code}.fu = {cat['fu']!r} no está en [valor_suelo.fu]")
    um = data["umbrales"]
    for key in ("usos_excluidos_cos_pb", "usos_ecoeficiencia"):
        for code in um[key]:
            if code not in cats:
                raise RulesError(f"{pre}: umbrales.{key} contiene {code!r}, que no es una categoría de usos")
    if not 0 < um["vis_fraccion_min"] <= 1:
        raise RulesError(f"{pre}: umbrales.vis_fraccion_min debe estar en (0, 1]")
    niveles = data["ecoeficiencia"]["niveles"]
    mins = [n["puntaje_min"] for n in niveles]
    if not niveles or mins != sorted(mins):
        raise RulesError(f"{pre}: ecoeficiencia.niveles debe estar ordenado por puntaje_min creciente")
    if data["ecoeficiencia"]["redondeo_pisos"] not in ("abajo", "arriba", "cercano"):
        raise RulesError(f"{pre}: ecoeficiencia.redondeo_pisos debe ser 'abajo', 'arriba' o 'cercano'")
    if not 0 < data["pagos"]["cronograma_contado_min"] <= 1 or data["pagos"]["cronograma_cuotas"] < 1:
        raise RulesError(f"{pre}: [pagos] cronograma_contado_min en (0, 1] y cronograma_cuotas ≥ 1")
    if data["pagos"].get("mixto_contado_min_sobre", "porcion") not in ("porcion", "total"):
        raise RulesError(f"{pre}: pagos.mixto_contado_min_sobre debe ser 'porcion' o 'total'")
    for name, sc in data["escenarios"].items():
        if name == "predeterminado":
            continue
        if sc["tipo"] not in _SCENARIO_TYPES:
            raise RulesError(
                f"{pre}: escenarios.{name}.tipo = {sc['tipo']!r}; "
                f"use uno de {', '.join(sorted(_SCENARIO_TYPES))}"
            )
        if sc["tipo"] == "ecoeficiencia" and "puntaje" not in sc:
            raise RulesError(f"{pre}: escenarios.{name} (ecoeficiencia) necesita 'puntaje'")
        if sc["tipo"] == "zuae" and "pisos" not in sc:
            raise RulesError(f"{pre}: escenarios.{name} (zuae) necesita 'pisos'")
    if data["escenarios"]["predeterminado"] not in data["escenarios"]:
        raise RulesError(f"{pre}: escenarios.predeterminado no nombra un escenario definido")
    amb = data["ambitos"]
    if amb["linea_base_edificabilidad"] not in ("puos", "pugs_basico", "mayor"):
        raise RulesError(f"{pre}: ambitos.linea_base_edificabilidad debe ser 'puos', 'pugs_basico' o 'mayor'")
    if (
        not 0 <= amb["puos_min_fraccion"] < 1
        or amb["ae_min_m2"] < 0
        or amb["lote_minimo_lotes_resultantes"] < 0
    ):
        raise RulesError(
            f"{pre}: [ambitos] puos_min_fraccion en [0, 1), ae_min_m2 ≥ 0 y lote_minimo_lotes_resultantes ≥ 0"
        )
    for key in ("radio_metro_m", "radio_cet_m"):
        if data["influencia"][key] <= 0:
            raise RulesError(f"{pre}: influencia.{key} debe ser > 0")


def parse_rules(text: str | bytes, *, source: str = "<texto>") -> Rules:
    """Parse and validate rules from TOML text.

    Parameters
    ----------
    text : str or bytes
        TOML content.
    source : str, optional
        A name for messages and for :attr:`Rules.source`.

    Returns
    -------
    Rules
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"reglas {source}: no es TOML válido ({exc})") from exc
    _check(data, SCHEMA, "", source)
    _check_values(data, source)
    return Rules(data=data, source=source, sha256=hashlib.sha256(raw).hexdigest())


def load_rules(path: str | Path | None = None) -> Rules:
    """Load a rules file: ``path`` when given, else the packaged default (:data:`DEFAULT_RULES`).

    Parameters
    ----------
    path : str or Path, optional
        A TOML rules file of the user's, or the name of a packaged one (``quito_2024.toml``).

    Returns
    -------
    Rules

    Raises
    ------
    RulesError
        When the file is missing or invalid; the message names the key and the fix.
    """
    if path is None or (isinstance(path, str) and "/" not in path and path in packaged_rules()):
        name = DEFAULT_RULES if path is None else str(path)
        raw = resources.files("quitogeo.rules").joinpath(name).read_bytes()
        return parse_rules(raw, source=f"package:{name}")
    p = Path(path)
    if not p.is_file():
        raise RulesError(
            f"reglas {p}: el archivo no existe; indique un TOML válido o omita --rules para usar "
            f"{DEFAULT_RULES}"
        )
    return parse_rules(p.read_bytes(), source=str(p))


def packaged_rules() -> list[str]:
    """Names of the rules files shipped inside the package."""
    return sorted(
        entry.name for entry in resources.files("quitogeo.rules").iterdir() if entry.name.endswith(".toml")
    )


__all__ = ["DEFAULT_RULES", "SCHEMA", "Rules", "load_rules", "packaged_rules", "parse_rules"]

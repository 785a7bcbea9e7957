import math

import pandas as pd
import pytest

from quitogeo.io.zoning_codes import parse_zoning_code, parse_zoning_codes


@pytest.mark.parametrize(
    ("code", "forma", "lote", "pisos", "cos_pb", "cos_total"),
    [
        ("A603-35", "A", 600.0, 3, 35.0, 105.0),  # normativa §5: 3 floors × 35 % = 105 %
        ("A1002-35", "A", 1000.0, 2, 35.0, 70.0),
        ("A608-50", "A", 600.0, 8, 50.0, 400.0),
        ("B304-50", "B", 300.0, 4, 50.0, 200.0),
        ("A10 (A604-50)", "A", 600.0, 4, 50.0, 200.0),  # wrapped label: the code in parentheses
        (" c612-70 ", "C", 600.0, 12, 70.0, 840.0),
        ("A25002-5", "A", 25000.0, 2, 5.0, 10.0),
    ],
)
def test_parse_one(code, forma, lote, pisos, cos_pb, cos_total):
    z = parse_zoning_code(code)
    assert z is not None
    assert (z.forma_ocupacion, z.lote_minimo, z.pisos, z.cos_pb, z.cos_total) == (
        forma,
        lote,
        pisos,
        cos_pb,
        cos_total,
    )


@pytest.mark.parametrize("code", [None, math.nan, "", "ZR", "A6-35", "E603", "PIT-0001", "A600-35"])
def test_unparseable(code):
    assert parse_zoning_code(code) is None


def test_vectorised_matches_scalar():
    codes = pd.Series(
        ["A603-35", "x", None, "A10 (A604-50)", "A1002-35", "PIT-0003"], index=[5, 6, 7, 8, 9, 10]
    )
    out = parse_zoning_codes(codes)
    assert list(out.index) == [5, 6, 7, 8, 9, 10]
    for idx, code in codes.items():
        z = parse_zoning_code(code)
        if z is None:
            assert math.isnan(out.loc[idx, "lote_minimo"])
            assert out.loc[idx, "codigo"] is None
        else:
            assert out.loc[idx, "lote_minimo"] == z.lote_minimo
            assert out.loc[idx, "pisos"] == z.pisos
            assert out.loc[idx, "cos_total"] == z.cos_total
            assert out.loc[idx, "codigo"] == z.codigo

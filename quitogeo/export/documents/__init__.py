"""Per-lot documents a technician hands to a citizen: the IPRUS and the COD liquidación.

* :mod:`.iprus` — Informe Predial de Regulaciones de Uso del Suelo (norma técnica 0005-CTUGS-2020 Art. 37).
* :mod:`.liquidacion` — the COD breakdown line by line with its payment plan (Anexo 01 §2–§4).
* :mod:`.payments` — the payment modalities of Anexo 01 §3 (pure, integer cents).
* :mod:`.render` — HTML (jinja2) and PDF (headless Chromium's print).
* :mod:`quitogeo.formatting` — money ``USD 1.234,56``, dates ``dd/mm/aaaa`` (shared with the CLI, the map).
"""

from __future__ import annotations

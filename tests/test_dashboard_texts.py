"""The dashboard templates' texts are in the catalogs (through bot/web/dashboard/texts.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_texts_module_matches_the_templates() -> None:
    spec = importlib.util.spec_from_file_location("dt", ROOT / "scripts" / "dashboard_texts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "bot" / "web" / "dashboard" / "texts.py").read_text(encoding="utf-8")
    assert current == module.render(), "run: .venv/bin/python scripts/dashboard_texts.py"
    assert len(module.collect()) > 100

"""Access to the gold-standard posteriors in ../shared/reference_posteriors (posteriordb, BSD-3)."""

import json
from pathlib import Path

import numpy as np
import pytest

REFERENCE_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "reference_posteriors"


def reference(name: str) -> dict:
    """Program path, data and pooled reference draws of one posteriordb posterior (skip if absent)."""
    folder = REFERENCE_DIR / name
    if not folder.is_dir():
        pytest.skip(f"reference posteriors not found at {folder}")
    chains = json.loads((folder / "reference_draws.json").read_text())
    draws = {k: np.concatenate([np.asarray(c[k]) for c in chains]) for k in chains[0]}
    return {
        "program": folder / "model.stan",
        "data_path": folder / "data.json",
        "data": json.loads((folder / "data.json").read_text()),
        "draws": draws,
    }

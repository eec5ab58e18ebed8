"""Where the shipped files live: checkpoints, metrics, model card and sample images (assets/ at
the top of the repository). The one home of these paths; it imports nothing heavy, so the app
can list samples before torch loads."""

from pathlib import Path

__all__ = ["ASSETS_DIR", "METRICS_FILE", "SAMPLES_DIR"]

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
METRICS_FILE = ASSETS_DIR / "metrics.json"
SAMPLES_DIR = ASSETS_DIR / "samples"

"""Training snapshots: the shipped CARAFE configuration retrained and saved after 0, 25, ..., 800
optimizer steps (``assets/snapshots/step_NNNN.safetensors`` + ``.json``), and the numbers
``carafe-evaluate --snapshots`` stored for them once (``assets/snapshots/metrics.json``).

Lists and loads the snapshots and reads the stored curves as plain records; the sentences
worded from those numbers are :mod:`carafe.inspect.learning.words`'. No Streamlit, no plotting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carafe.assets import ASSETS_DIR
from carafe.inspect.records import CarafeDetails
from carafe.models import load_checkpoint

__all__ = [
    "SNAPSHOTS_DIR",
    "MethodShares",
    "RingMeasures",
    "Snapshot",
    "SnapshotMetrics",
    "StoredCurves",
    "lean_scale",
    "list_snapshots",
    "load_curves",
    "load_snapshot",
    "padding_series",
]

SNAPSHOTS_DIR = ASSETS_DIR / "snapshots"
METRICS_NAME = "metrics.json"


# --- the snapshot files -----------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """One saved snapshot: its weights file and what its JSON says about the training."""

    steps_done: int
    path: Path  # the weights file (its config JSON sits beside it)
    seed: int | None = None
    schedule_steps: int | None = None


def list_snapshots(folder: Path | None = None) -> list[Snapshot]:
    """Every ``step_*.json`` in ``folder`` (default :data:`SNAPSHOTS_DIR`) that names its step
    count and whose weights exist, ordered by steps done; empty when the folder is missing.

    The weights are the ``.safetensors`` beside the JSON, or the file its ``"weights"`` entry
    names relative to the folder: the last snapshot is the shipped model itself
    (``"../carafe.safetensors"``), stored once.
    """
    folder = Path(folder or SNAPSHOTS_DIR)
    found = []
    for config in sorted(folder.glob("step_*.json")):
        try:
            info = json.loads(config.read_text())
            training = info["training"]
            steps = int(training["steps_done"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a snapshot without a readable config cannot be loaded either
        weights = info.get("weights")
        path = (folder / weights).resolve() if weights else config.with_suffix(".safetensors")
        if path.is_file():
            found.append(
                Snapshot(steps, path, training.get("seed"), training.get("schedule_steps"))
            )
    return sorted(found, key=lambda s: s.steps_done)


def load_snapshot(snapshot: Snapshot | Path):
    """The snapshot's segmentation model (float32 weights, eval mode)."""
    path = snapshot.path if isinstance(snapshot, Snapshot) else Path(snapshot)
    return load_checkpoint(path).eval()


# --- the stored curves ------------------------------------------------------------------------
@dataclass(frozen=True)
class MethodShares:
    """One kernel-alignment measure for each method (None where the file has no value)."""

    carafe: float | None = None
    carafe_moved: float | None = None  # CARAFE's kernels moved to other boundary pixels
    bilinear: float | None = None
    nearest: float | None = None
    uniform: float | None = None

    @classmethod
    def read(cls, values: Mapping) -> MethodShares:
        def pick(key):
            v = values.get(key)
            return None if v is None else float(v)

        return cls(*(pick(k) for k in ("carafe", "carafe_moved", "bilinear", "nearest", "uniform")))


@dataclass(frozen=True)
class RingMeasures:
    """The outermost ring of output pixels of one FPN step, over the held-out scenes."""

    step_index: int  # the FPN step's index (as StepAnalysis.index)
    padding_weight_median: float  # median kernel weight on zero padding
    outward_share: float  # share of ring kernels that lean out of the map
    lean_outward_median: float  # median lean along the outward direction (input pixels)
    ring_magnitude_ratio: float  # mean |output| on the ring / inside
    bilinear_ring_magnitude_ratio: float


@dataclass(frozen=True)
class SnapshotMetrics:
    """What carafe-evaluate stored for one snapshot."""

    steps_done: int
    checkpoint: str
    miou: float  # %
    boundary_f: float  # %
    class_boundary_f: float  # %
    per_class_iou: tuple[tuple[str, float], ...]
    boundary_pixels: int | None
    own_share: MethodShares  # kernel weight on the output pixel's own object
    off_centre_own_share: MethodShares  # the same, counting only the taps off the centre
    border_ring: tuple[RingMeasures, ...]  # coarsest FPN step first

    def ring(self, step_index: int) -> RingMeasures | None:
        """The ring measures of FPN step ``step_index`` (None when not stored)."""
        return next((r for r in self.border_ring if r.step_index == step_index), None)


@dataclass(frozen=True)
class StoredCurves:
    """The snapshots' stored metrics, ordered by steps done."""

    split: str
    heldout_images: int
    snapshots: tuple[SnapshotMetrics, ...]
    path: Path

    @property
    def label(self) -> str:
        """How the page labels these numbers: stored, by whom, on how many scenes."""
        return (
            f"stored (measured once by carafe-evaluate on {self.heldout_images} "
            f"{self.split.replace('heldout', 'held-out')} scenes)"
        )

    @property
    def steps(self) -> list[int]:
        return [s.steps_done for s in self.snapshots]

    def at(self, steps_done: int) -> SnapshotMetrics | None:
        """The record of the snapshot after ``steps_done`` steps (None when not stored)."""
        return next((s for s in self.snapshots if s.steps_done == steps_done), None)


def _snapshot_metrics(row: Mapping) -> SnapshotMetrics:
    ka = row.get("kernel_alignment") or {}
    return SnapshotMetrics(
        steps_done=int(row["steps_done"]),
        checkpoint=str(row["checkpoint"]),
        miou=float(row["miou"]),
        boundary_f=float(row["boundary_f"]),
        class_boundary_f=float(row["class_boundary_f"]),
        per_class_iou=tuple((k, float(v)) for k, v in row.get("per_class_iou", {}).items()),
        boundary_pixels=ka.get("boundary_pixels"),
        own_share=MethodShares.read(ka.get("own_object_share", {})),
        off_centre_own_share=MethodShares.read(ka.get("off_centre_own_share", {})),
        border_ring=tuple(
            RingMeasures(**{k: (int(v) if k == "step_index" else float(v)) for k, v in r.items()})
            for r in row.get("border_ring") or ()
        ),
    )


def load_curves(path: Path | None = None) -> StoredCurves | None:
    """The stored snapshot metrics (default ``SNAPSHOTS_DIR/metrics.json``); None when the
    file is missing. Raises ValueError naming the problem when it has another layout."""
    path = Path(path or SNAPSHOTS_DIR / METRICS_NAME)
    try:
        data = json.loads(path.read_text())
    except OSError:
        return None
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    try:
        rows = [_snapshot_metrics(r) for r in data["snapshots"]]
        return StoredCurves(
            split=str(data["split"]),
            heldout_images=int(data["heldout_images"]),
            snapshots=tuple(sorted(rows, key=lambda s: s.steps_done)),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} has another layout ({type(err).__name__}: {err})") from err


def padding_series(snapshots: Sequence[SnapshotMetrics]) -> dict[int, list[float | None]]:
    """FPN step index -> its ring's median padding weight at every snapshot (None where not
    stored), steps in the order the file lists them (coarsest first)."""
    order: list[int] = []
    for s in snapshots:
        order += [r.step_index for r in s.border_ring if r.step_index not in order]
    return {
        i: [None if s.ring(i) is None else s.ring(i).padding_weight_median for s in snapshots]
        for i in order
    }


def lean_scale(details: CarafeDetails, group: int = 0, q: float = 99.0) -> float:
    """The ``q``-th percentile of the kernels' lean length (input pixels) over the whole map.
    At random init it is tiny (about 0.01 px): the leans are noise."""
    return float(np.percentile(np.hypot(details.com_dy[group], details.com_dx[group]), q))

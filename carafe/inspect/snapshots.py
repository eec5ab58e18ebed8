"""Training snapshots: the shipped CARAFE configuration retrained and saved after 0, 25, ..., 800
optimizer steps (``assets/snapshots/step_NNNN.safetensors`` + ``.json``), and the numbers
``carafe-evaluate --snapshots`` stored for them once (``assets/snapshots/metrics.json``).

Lists and loads the snapshots, reads the stored curves as plain records, and words two facts
from those numbers: when the kernels become content-aware, and how the border kernels' weight
on zero padding evolves. No Streamlit, no plotting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carafe.assets import ASSETS_DIR
from carafe.inspect.habits import MOST
from carafe.inspect.records import CarafeDetails
from carafe.models import load_checkpoint

__all__ = [
    "BORDER_CHANGE",
    "CONTENT_MARGIN",
    "SNAPSHOTS_DIR",
    "MethodShares",
    "RingMeasures",
    "Snapshot",
    "SnapshotMetrics",
    "StoredCurves",
    "border_padding_sentence",
    "content_aware_sentence",
    "lean_scale",
    "list_snapshots",
    "load_curves",
    "load_snapshot",
    "padding_series",
]

SNAPSHOTS_DIR = ASSETS_DIR / "snapshots"
METRICS_NAME = "metrics.json"

#: CARAFE's off-centre own-object share must beat its content-blind control by this much (a
#: share of the kernel's weight) before we call the kernels content-aware. At random init the
#: two differ by about 1e-5; 0.05 is far above that and is what a reader can see on the curve.
CONTENT_MARGIN = 0.05
#: A change of the border padding weight smaller than this is called "about the same".
BORDER_CHANGE = 0.05


# --- the snapshot files -----------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """One saved snapshot: its weights file and what its JSON says about the training."""

    steps_done: int
    path: Path  # the .safetensors file (its config JSON sits beside it)
    seed: int | None = None
    schedule_steps: int | None = None


def list_snapshots(folder: Path | None = None) -> list[Snapshot]:
    """Every ``step_*.safetensors`` in ``folder`` (default :data:`SNAPSHOTS_DIR`) whose JSON
    names its step count, ordered by steps done; empty when the folder is missing."""
    folder = Path(folder or SNAPSHOTS_DIR)
    found = []
    for path in sorted(folder.glob("step_*.safetensors")):
        try:
            training = json.loads(path.with_suffix(".json").read_text())["training"]
            steps = int(training["steps_done"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a snapshot without a readable config cannot be loaded either
        found.append(Snapshot(steps, path, training.get("seed"), training.get("schedule_steps")))
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
    """The ``q``-th percentile of the kernels' lean length (input pixels) over the whole map:
    the length the lean map shows at full brightness. Each snapshot's map is scaled to its
    own, so the page states it: at random init it is tiny and the colours are noise."""
    return float(np.percentile(np.hypot(details.com_dy[group], details.com_dx[group]), q))


# --- sentences worded from the stored numbers ---------------------------------------------------
def _bilinear_clause(usable: Sequence[SnapshotMetrics]) -> str:
    pairs = [
        (s, s.off_centre_own_share.carafe, s.off_centre_own_share.bilinear)
        for s in usable
        if s.off_centre_own_share.bilinear is not None
    ]
    if not pairs:
        return ""
    passed = next(((s, c, b) for s, c, b in pairs if c > b), None)
    if passed:
        s, c, b = passed
        return (
            f" CARAFE's off-centre share first passes bilinear's fixed kernel at step {s.steps_done} "
            f"({c:.3f} against bilinear's {b:.3f})."
        )
    s, c, b = max(pairs, key=lambda p: p[1])
    return (
        f" CARAFE's off-centre share never passes bilinear's fixed kernel: its highest is {c:.3f} at step "
        f"{s.steps_done}, against bilinear's {b:.3f}."
    )


def content_aware_sentence(
    snapshots: Sequence[SnapshotMetrics], margin: float = CONTENT_MARGIN
) -> str:
    """When the kernels become content-aware, worded from the stored shares.

    Content-aware here: CARAFE's kernel weight off the centre tap on the output pixel's own
    object beats the same kernels moved to other boundary pixels (the content-blind control)
    by at least ``margin``. The first such snapshot is named, whether the gap then holds, and
    when CARAFE's off-centre share first passes bilinear's fixed kernel.
    """
    usable = [
        s
        for s in sorted(snapshots, key=lambda s: s.steps_done)
        if s.off_centre_own_share.carafe is not None
        and s.off_centre_own_share.carafe_moved is not None
    ]
    if not usable:
        return (
            "The stored snapshots hold no off-centre own-object shares of CARAFE and of its "
            "content-blind control, so the numbers cannot say when the kernels become "
            "content-aware."
        )

    def gap(s: SnapshotMetrics) -> float:
        return s.off_centre_own_share.carafe - s.off_centre_own_share.carafe_moved

    rule = (
        f"CARAFE's weight off the centre tap on the pixel's own object beats the same kernels "
        f"moved to other boundary pixels (the content-blind control) by at least {margin:.2f}"
    )
    first = next((i for i, s in enumerate(usable) if gap(s) >= margin), None)
    if first is None:
        widest = max(usable, key=gap)
        text = (
            f"By the stored numbers the kernels never become content-aware in these "
            f"{len(usable)} snapshots (steps {usable[0].steps_done}–{usable[-1].steps_done}): "
            f"in none of them does {rule}. The largest gap is {gap(widest):.3f}, at step "
            f"{widest.steps_done}."
        )
        return text + _bilinear_clause(usable)
    s = usable[first]
    shares = s.off_centre_own_share
    text = (
        f"By the stored numbers the kernels become content-aware at step {s.steps_done}: the "
        f"first snapshot where {rule} ({shares.carafe:.3f} against {shares.carafe_moved:.3f}, "
        f"a gap of {gap(s):.3f}"
    )
    if first > 0:
        before = usable[first - 1]
        text += f"; at step {before.steps_done} it was {gap(before):.3f}"
    text += ")."
    later = usable[first + 1 :]
    dropped = [t.steps_done for t in later if gap(t) < margin]
    if dropped:
        text += (
            f" The gap falls below that margin again at step{'s' if len(dropped) > 1 else ''} "
            + ", ".join(map(str, dropped))
            + "."
        )
    elif later:
        text += (
            f" The gap stays at or above the margin in every later snapshot ({gap(later[-1]):.3f} at step "
            f"{later[-1].steps_done})."
        )
    return text + _bilinear_clause(usable)


def _listing(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def border_padding_sentence(
    snapshots: Sequence[SnapshotMetrics],
    names: Mapping[int, str] | None = None,
    change: float = BORDER_CHANGE,
) -> str:
    """How the border kernels' median weight on zero padding evolves, worded from the stored
    ring measures. ``names``: FPN step index -> label (e.g. "P3→P2"); "FPN step i" otherwise.
    A difference under ``change`` between the first and last snapshot is "about the same"."""
    ordered = sorted(snapshots, key=lambda s: s.steps_done)
    series = padding_series(ordered)
    # only steps stored at the first and the last snapshot can be compared
    series = {i: v for i, v in series.items() if v and v[0] is not None and v[-1] is not None}
    if len(ordered) < 2 or not series:
        return (
            "The stored snapshots hold no border measures to compare, so the numbers cannot say "
            "how the weight on zero padding evolves."
        )

    def name(i: int) -> str:
        return (names or {}).get(i, f"FPN step {i}")

    first, last = ordered[0].steps_done, ordered[-1].steps_done
    start = [v[0] for v in series.values()]
    end = [v[-1] for v in series.values()]
    labels = " / ".join(name(i) for i in series)
    text = (
        f"By the stored numbers, the median kernel weight on zero padding along the outermost "
        f"ring of output pixels ({labels}) is {_listing(start)} at step {first} and "
        f"{_listing(end)} at step {last}."
    )
    rises = [i for i, v in series.items() if v[-1] - v[0] >= change]
    falls = [i for i, v in series.items() if v[0] - v[-1] >= change]
    flat = [i for i in series if i not in rises and i not in falls]
    if len(rises) == len(series):
        text += (
            " It rises at every FPN step: training moves the border kernels' weight onto the "
            "zero padding, not off it."
        )
    elif len(falls) == len(series):
        text += (
            " It falls at every FPN step: training moves the border kernels' weight off the "
            "zero padding, onto the image."
        )
    elif len(flat) == len(series):
        text += f" It changes by less than {change:.2f} at every FPN step."
    else:
        parts = [
            f"{verb} at {', '.join(name(i) for i in ids)}"
            for ids, verb in (
                (rises, "rises"),
                (falls, "falls"),
                (flat, f"changes by less than {change:.2f}"),
            )
            if ids
        ]
        text += " It " + "; it ".join(parts) + "."
    overshoots = []
    for i, v in series.items():
        known = [(x, ordered[j].steps_done) for j, x in enumerate(v) if x is not None]
        peak, when = max(known)
        if when not in (first, last) and peak - v[-1] >= change:
            overshoots.append(f"{peak:.2f} at step {when} ({name(i)})")
    if overshoots:
        text += " On the way it overshoots: " + ", ".join(overshoots) + "."
    if all(v > MOST for v in end):
        text += f" After {last} steps over half of the ring's kernel weight lies on the padding."
    elif all(v <= MOST for v in end):
        text += f" After {last} steps at most half of the ring's kernel weight lies on the padding."
    return text

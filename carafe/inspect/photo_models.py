"""What the stored measures say about a photo model: the targets of the ``photo_models`` section
of metrics.json (:mod:`carafe.training.photo_eval`), held or missed, worded from the numbers.
No Streamlit."""

from __future__ import annotations

from carafe.nn import CONTROL_KIND, UPSAMPLERS

__all__ = ["stored_photo_sentences"]


def _name(kind: str) -> str:
    return UPSAMPLERS[kind].display_name if kind in UPSAMPLERS else kind


def _label(key: str) -> str:
    """A value's key as words: a kind's display name, "its moved control" for "<kind>_moved"."""
    if key.endswith("_moved"):
        return "its moved control"
    return "bilinear's kernel" if key == CONTROL_KIND else _name(key)


def _photo(name: str) -> str:
    return name.rsplit(".", 1)[0]


def stored_photo_sentences(metrics: dict | None, kind: str) -> list[str]:
    """One sentence per stored target of ``kind``'s photo models (every seed), each saying
    whether it holds and, where it is missed, the numbers of the photos that miss it; [] when
    nothing is stored for the kind."""
    section = (metrics or {}).get("photo_models")
    if not section:
        return []
    out = []
    for t in section.get("targets", []):
        if t["upsampler"] != kind:
            continue
        head = f"{_name(kind)} photo model, seed {t['seed']}: {t['target']}"
        total = len(t["values"])
        if t["held"]:
            where = f" on all {total} held-out photos" if total > 1 else ""
            out.append(f"{head}: holds{where}.")
            continue
        numbers = "; ".join(
            f"{_photo(p)} " + ", ".join(f"{_label(k)} {v:.3f}" for k, v in t["values"][p].items())
            for p in t["misses"]
        )
        missed = f"{len(t['misses'])} of {total} photos" if total > 1 else "it"
        out.append(f"{head}: **missed** on {missed} ({numbers}).")
    return out

"""Explore's "Upsampled maps (PCA)" tab: one row of PCA pictures and the measured sentence,
the same sentence carafe.inspect words from the same maps computed outside the app."""

from __future__ import annotations

from feature_maps import PCA_TAB

from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import load_twin
from carafe.inspect.feature_pca import change_sentence, family_kinds, pca_maps
from carafe.inspect.imageio import sample_images
from carafe.inspect.regions import image_regions
from tests.app.conftest import assert_clean, figure_titled, open_app


def test_pca_tab_draws_every_panel_and_words_the_measure(reference):
    analysis, step = reference
    at = open_app("explore")
    assert_clean(at)
    tab = next(t for t in at.tabs if t.label == PCA_TAB)
    spec = figure_titled(at, f"{step.levels}: every map in the coarse map's PCA colours")
    kinds = family_kinds(step.kind)
    members = [(k, analyze(load_twin(k), analysis.image, baselines=False).steps[-1]) for k in kinds]
    labels, true_labels = image_regions(analysis.image, next(iter(sample_images())))
    maps = pca_maps(step, members, labels, true_labels)
    images = [t for t in spec["data"] if t["type"] == "image"]
    assert len(images) == 1 + len(maps.panels) == 3 + len(kinds)
    titles = [a["text"].replace("<br>", " ") for a in spec["layout"]["annotations"]]
    assert titles == [maps.coarse_label] + [p.label for p in maps.panels]
    shown = [m.value for m in tab.markdown]
    assert change_sentence(maps) in shown
    assert shown[0].startswith("Across object edges")  # the default sample is a shapes scene

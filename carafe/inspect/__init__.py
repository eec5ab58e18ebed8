"""The display layer: (model, image) in, plain numpy records out, for the app to draw. No
Streamlit, no plotting. The shared core is flat (records, analysis, catalog, imageio, pixel,
summaries, kernel_compare, explain, habits, regions, sampling, toy); each feature with more
than one module is a package named as its page (sandbox, tour, pins, train_tiny, learning,
compare, network), with its sentences in its ``words`` module. Import each name from the
module that owns it; this package re-exports nothing."""

"""The display layer: (model, image) in, plain numpy records out, for the app to draw. No
Streamlit, no plotting. Import each name from the module that owns it (records, analysis,
catalog, pixel, kernel_compare, explain, sampling, toy, subpixel, sandbox, patterns, summaries,
imageio); this package re-exports nothing."""

"""The whole-network page's numbers and words: the model's structure (diagram), one image point
through every top-down step (trace) and the sentences about it (words). Import each name from
the module that owns it; this package re-exports nothing."""

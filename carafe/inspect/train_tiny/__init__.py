"""The "Train a tiny CARAFE" page's numbers and words: the knobs and their costs (knobs), the
pixels worth looking at and their kernels (pixels), a live run as one record (view) and the
sentences that state what the numbers show (words). The training itself is
:mod:`carafe.training.train_tiny`'s. Import each name from the module that owns it; this
package re-exports nothing."""

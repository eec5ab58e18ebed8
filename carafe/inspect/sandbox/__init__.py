"""The Sandbox page's numbers and words: test patterns (patterns), one step's upsamplers on one
colour scale (view), a profile along a line (profile), CARAFE's sub-pixel kernels in flat areas
(subpixel), the DySample twin on the same pattern (twin) and the sentences (words). Import each
name from the module that owns it; this package re-exports nothing."""

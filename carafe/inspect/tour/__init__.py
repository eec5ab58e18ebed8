"""The guided tour's numbers and words: its steps (steps), the Sandbox line through the tour's
pixel (sandbox_line) and the sentences its banner shows (words). Import each name from the
module that owns it; this package re-exports nothing."""

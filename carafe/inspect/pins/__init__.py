"""The pinned pixels' numbers and words: the edge pixel and the flat pixel "pin an edge pixel
and a flat pixel" chooses, a pinned pixel's view (choice), and the sentences (words). Import each
name from the module that owns it; this package re-exports nothing."""

"""The "Watch CARAFE learn" page's numbers and words: the training snapshots and their stored
curves (snapshots) and the sentences worded from those curves (words). Import each name from the
module that owns it; this package re-exports nothing."""

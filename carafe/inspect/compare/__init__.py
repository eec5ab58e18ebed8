"""The Compare page's numbers and words: where CARAFE − baseline differences lie
(differences) and the sentences worded from them (words). Import each name from the module that
owns it; this package re-exports nothing."""

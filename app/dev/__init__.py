"""Tools for developing the app (never imported by it): the click benchmark and the served-app
helper the browser test shares."""

"""The disclosure gate (pulse/disclosure.py): overview — tests that check its results from outside (filled in below)."""

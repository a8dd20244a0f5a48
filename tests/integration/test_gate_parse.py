"""The disclosure gate (pulse/disclosure.py): parse — tests that check its results from outside (filled in below)."""

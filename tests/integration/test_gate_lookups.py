"""The disclosure gate (pulse/disclosure.py): lookups — tests that check its results from outside (filled in below)."""

"""The disclosure gate (pulse/disclosure.py): pooled — tests that check its results from outside (filled in below)."""

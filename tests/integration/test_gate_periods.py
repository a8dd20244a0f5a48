"""The disclosure gate (pulse/disclosure.py): periods — tests that check its results from outside (filled in below)."""

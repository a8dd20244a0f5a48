"""Charts and exports, built only from the disclosure gate's views (never from models)."""

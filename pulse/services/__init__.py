"""Services: the operations behind every page and command. They take a Session and flush, never commit."""

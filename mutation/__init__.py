"""Mutation testing of the anonymity core (`make mutation`, docs/TESTING.md)."""

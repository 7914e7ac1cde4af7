"""Helpers for tests that start real servers and processes: free loopback ports, a real libSQL server."""

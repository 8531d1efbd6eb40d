"""Secure aggregation: exact group totals from pairwise-masked node cubes."""

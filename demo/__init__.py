"""Demo tooling beside the production packages: synthetic extracts, the whole loop."""

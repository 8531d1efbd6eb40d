"""Rounds: signed tasks per node, node polls, result uploads and round status."""

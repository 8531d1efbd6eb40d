"""Recurring cycles of library specs, opened on schedule, and improvement actions."""

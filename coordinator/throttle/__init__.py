"""Lockout of guessing: failed logins and enrolments counted per account and per address."""

"""The audit log: every action and refusal, who, when, what and on what; append-only."""

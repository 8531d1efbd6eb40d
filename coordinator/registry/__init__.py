"""The registry: organisations, their nodes, enrolment codes and region memberships."""

"""The HTTP API's shared parts: error bodies, request helpers, the OpenAPI document."""

"""Observability layer: logs, runtime snapshot, HTTP API, dashboards."""

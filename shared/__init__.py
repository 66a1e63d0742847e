"""The platform's library: infrastructure and wire contracts shared by every service.

Imported, never run. It knows no service (import-linter enforces it).
"""

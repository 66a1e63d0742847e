"""The web pages of the platform: server-rendered, a client of ``/api/v1`` only."""

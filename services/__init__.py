"""The platform's services. Each is an app of its own; only ``services.cli`` composes them."""

"""The only public entry: accounts and tokens, routing to the services, health, web pages."""

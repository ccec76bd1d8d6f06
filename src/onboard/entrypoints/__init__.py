"""Ways in: the HTTP API, the web pages, the device API and the CLI."""

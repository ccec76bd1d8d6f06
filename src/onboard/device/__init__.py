"""The reference device client (SPEC §5, §6): what a device running a product's client
does, in plain code a firmware team can read and port. It speaks only HTTP to the server
and imports nothing of the server's own layers."""

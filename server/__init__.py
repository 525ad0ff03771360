"""MCP wiring, configuration, the artifact workspace and the command line."""

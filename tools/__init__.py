"""The tool families (one module each registers its MCP tools) and the shared musical core."""

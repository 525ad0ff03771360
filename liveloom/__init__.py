"""liveloom: a musician's toolbox for LLM agents, served over MCP, writing into Ableton Live."""

__version__ = "0.1.0"

"""prmkit: process supervision for LLM math reasoning, in one package."""

__version__ = "0.1.0"

"""Chat chains: retrieval-augmented generation and the tool-calling agent."""

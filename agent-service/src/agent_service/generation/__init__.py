"""Answer generation: the extractive answerer and LLM/agent factories."""

"""Automatic process annotation: Monte Carlo rollouts (hard and soft), an LLM judge, consensus
filtering, and the label-quality lab that scores them all against the synthetic world's exact truth."""

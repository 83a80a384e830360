"""Training: the synthetic policy (PRM training lands here later)."""

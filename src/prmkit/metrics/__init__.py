"""Metrics shared by training, evaluation, annotation and RL reports: step-level F1 and AUROC,
within-problem ranking AUROC, the ProcessBench F1, and bootstrap intervals over problems."""

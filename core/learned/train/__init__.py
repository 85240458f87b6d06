"""Training: data sampling and the training loops for the rate network (and, later, the prefilter)."""

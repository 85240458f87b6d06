"""Training: data sampling, the harness, and the training loops of the rate network and the prefilter."""

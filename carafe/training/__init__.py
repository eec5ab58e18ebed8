"""Training and evaluation of the shipped models: the synthetic data (with held-out photos), the
training loop, the held-out evaluation and its metrics, and the kernel-alignment measures."""

"""Neural networks, losses and checkpoint formats; plain PyTorch, no I/O to pipelines."""

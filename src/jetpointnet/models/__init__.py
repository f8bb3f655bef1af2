"""PyTorch networks: every model maps X (B, N, F) and a mask (B, N) to one output per point."""

"""The training loop, run folders, checkpoints and resumption."""

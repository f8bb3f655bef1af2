"""Per-track samples (stage 1) and point-cloud arrays (stage 2), as numpy / awkward."""

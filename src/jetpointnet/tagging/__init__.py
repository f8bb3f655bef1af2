"""Per-jet tagging data: large-R jets, their labels, substructure and point clouds."""

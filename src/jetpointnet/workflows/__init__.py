"""End-to-end workflows built from the stages (the demo, reports); the same level as the CLI."""

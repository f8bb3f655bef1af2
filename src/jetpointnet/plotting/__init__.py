"""Every figure of the project; the only layer that imports matplotlib."""

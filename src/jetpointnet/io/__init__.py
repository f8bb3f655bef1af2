"""Input and output: the only layer that talks to uproot, ROOT and the file system."""

"""The embedded data source: Pythia 8 events in an ATLAS-like calorimeter, as MLTree files."""

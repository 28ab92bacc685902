"""This extension's monitoring types and their plotters, found by DIRAC's Monitoring system by name."""

"""Plotters of this extension's monitoring types: DIRAC's Monitoring service finds ``<Type>Plotter.py`` here
(``MainReporter.PlottersList``)."""

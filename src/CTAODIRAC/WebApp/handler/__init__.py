"""WebAppDIRAC handlers of this extension: ``<App>Handler`` serves ``/DIRAC/s:<setup>/g:<group>/<App>/<method>``."""

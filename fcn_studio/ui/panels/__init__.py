"""The docked panels (images, classes, tools), the status bar and the dock layout: views over the
workspace, built from (workspace, shell) or from plain data."""

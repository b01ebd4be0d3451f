"""The open project's state, in one Qt-free owner: what is open, what is unsaved or failed, which model
is in use, which training run is going. The window's panels subscribe to its events; the command line,
the benchmarks and the tests drive it without a window."""

from fcn_studio.project.model_versions import ModelVersion
from fcn_studio.workspace.runs import RunOptions
from fcn_studio.workspace.workspace import Run, Workspace

__all__ = ["ModelVersion", "Run", "RunOptions", "Workspace"]

"""The observer the workspace's events use (it lives in core/, so the training layer's keep-learning
loop can emit the same kind of events without pointing up at the workspace)."""

from fcn_studio.core.events import Event, call_now

__all__ = ["Event", "call_now"]

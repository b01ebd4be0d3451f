"""The training room: the Training panel, one-shot runs and keep learning, as views over the
workspace's run service."""

"""FCN Studio: build semantic-segmentation datasets with an FCN in the loop."""

__version__ = "0.1.0"

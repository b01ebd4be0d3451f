"""The canvas room: the view that draws the image and the overlay, the tools that paint on it, and what
is made off the GUI thread to show an image."""

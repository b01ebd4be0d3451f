"""Dialogs shared by the rooms: the class editor, New Model, keyboard shortcuts."""

"""The dataset room: import and export dialogs, and Save as Project for an unsaved session."""

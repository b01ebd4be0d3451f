"""The window itself: its composition (main_window), menu bar, keyboard routing, dock layout and the
quitting sequence. Only the application's entry (ui.app) imports it; the rooms never see it."""

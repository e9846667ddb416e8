"""Views: pure functions from (metrics, now, view state) to Rich renderables."""

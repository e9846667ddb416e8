"""Sessions: live and replay, the terminal loop that draws them, and the keys that steer them."""

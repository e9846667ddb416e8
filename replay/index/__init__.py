"""The seek index: fold checkpoints of a log, where they are kept, and seeking with them."""

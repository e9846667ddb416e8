"""The pure core: the fold and its metrics, clocks, the WHEN grammar, text helpers, the
outcome rule and the views. No I/O and no clock reads here: everything is passed in."""

"""Studies built on plans: unit costs (tco, compare, breakeven), stress tests and the bench."""

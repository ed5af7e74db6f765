"""Portfolio: positions from predictions (a registry of portfolio kinds, registry.py) and the vectorised backtest
(backtest.py) over the test rows gathered from the fold results (gather.py)."""

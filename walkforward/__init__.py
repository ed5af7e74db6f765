"""walkforward: a walk-forward machine-learning backtester for a multi-asset universe."""

__version__ = "0.1.0"

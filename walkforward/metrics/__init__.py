"""Performance and prediction metrics (docs/methodology.md §5): one series' metrics (series.py), the rank-based
prediction metrics (ranks.py), the quantile returns (quantiles.py) and metrics.json's three levels (levels.py)."""

from walkforward.metrics.levels import (
    SharedPredictions,
    book_metrics,
    compute_metrics,
    prediction_levels,
    with_predictions,
)

__all__ = ["SharedPredictions", "book_metrics", "compute_metrics", "prediction_levels", "with_predictions"]

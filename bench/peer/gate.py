"""The bench's gate on the peer: its predictions must be bitwise wf's."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from walkforward.compare import Comparison, compare_frames


def compare_predictions(wf_run: Path, peer_run: Path) -> Comparison:
    """The peer's predictions.parquet (fold, symbol, date, prediction, target) against the same columns of a wf
    run's, bitwise (tolerance 0: equal floats, nulls in the same rows)."""
    peer = pl.read_parquet(Path(peer_run) / "predictions.parquet")
    wf = pl.read_parquet(Path(wf_run) / "predictions.parquet", columns=peer.columns)
    return Comparison([compare_frames("predictions", wf, peer, 0.0)])

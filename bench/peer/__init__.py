"""The peer baseline of `wf bench`: what a user could write themselves, the old design done well.

pandas and numpy, written from docs/methodology.md and sharing no code with either engine (nothing from
walkforward.features, walkforward.legacy or walkforward.execution). It reads the data once (per-symbol CSVs or one
long Parquet file) into one frame sorted by (symbol, date), computes every feature over each asset's full history,
all assets in one pandas call per feature (panel.py), builds each fold's training and test matrices from that one
panel (§1 folds, purging by label end, embargo, one unified model) and fits the folds on a
`concurrent.futures.ProcessPoolExecutor` of `n_jobs` workers, each running single-threaded LightGBM with wf's
parameters and fold seed (§3). It writes predictions.parquet only (no backtest), which the bench's gate requires to
be bitwise wf's.

Features: `ret_k`, `sma_ratio_n` (pandas' rolling mean) and the target are bitwise Polars'. `rsi_n` (pandas' ewm
against Polars' `mean + (x - mean) * alpha`), `vol_n`, `volume_z_n` and `corr_n` (pandas' rolling variance
against Polars' Welford updates) differ in the last bits: measured on the large and wide workloads, up to 11 ulps
for `rsi_14`, 260 ulps for `vol_20`, and a relative 2.5e-10 for `volume_z_20` and 6.6e-10 for `corr_60` (values near
0). The predictions are bitwise the same all the same (checked on the default config, the small, large, wide and xl
workloads): LightGBM bins a feature by the order of its values and stores midpoints between distinct training
values as thresholds, so a last-bit difference changes a prediction only if it moves a value across a threshold or
merges two values at a bin boundary. Of the four, only `rsi_14` changes which values are tied at all (one or two
pairs per workload), and without changing a prediction. A workload where a prediction did change would fail the
bench's gate; the way out then is to compute that feature as Polars does (its formula order, or a loop).

Peak RSS: this process's own peak plus each pool worker's own peak (`getrusage(RUSAGE_SELF)` in the worker,
reported with its results); `getrusage(RUSAGE_CHILDREN)` gives only the largest child's peak, not the sum. The
workers are forked after the imports (pandas, LightGBM) and before the data is read, so each counts the pages it
still shares with the parent (about 120 MB of imports): the sum is an upper bound.
"""

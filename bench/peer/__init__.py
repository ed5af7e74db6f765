"""The peer baseline of `wf bench`: what a user could write themselves, the old design done well.

pandas and numpy, written from docs/methodology.md and sharing no code with either engine (nothing from
walkforward.features, walkforward.legacy or walkforward.execution). It reads the data once (per-symbol CSVs or one
long Parquet file), computes every feature once per asset over its full history with pandas rolling windows, builds
each fold's training and test matrices (§1 folds, purging by label end, embargo, one unified model) and fits the
folds on a `concurrent.futures.ProcessPoolExecutor` of `n_jobs` workers, each running single-threaded LightGBM with
wf's parameters and fold seed (§3). It writes predictions.parquet only (no backtest), which the bench's gate
requires to be bitwise wf's.

Features: `ret_k`, `sma_ratio_n` (pandas' rolling mean) and the target are bitwise Polars'. `rsi_n` (pandas' ewm
against Polars' `mean + (x - mean) * alpha`), `vol_n`, `volume_z_n` and `corr_n` (pandas' rolling variance
against Polars' Welford updates) differ in the last bits: measured on the large and wide workloads, up to 11 ulps
for `rsi_14`, 260 ulps for `vol_20`, and a relative 2.5e-10 for `volume_z_20` and 6.6e-10 for `corr_60` (values near
0). The predictions are bitwise the same all the same (large, wide, and the default config on the bundled data):
LightGBM bins a feature by the order of its values and stores midpoints between distinct training values as
thresholds, so last-bit differences change a prediction only when a value crosses a threshold or two values merge
at a bin boundary, which these do not. Only `rsi_14` changes the order at all (a pair of values tied in one engine
and one ulp apart in the other, inside a bin). The gate would catch a workload where they did.

Peak RSS: this process's own peak plus each pool worker's own peak (`getrusage(RUSAGE_SELF)` in the worker,
reported with its results). `RUSAGE_CHILDREN` would give only the largest child's peak, not the sum. The workers
are forked before the data is read, so the pages they share with the parent are the interpreter and the imports.
Counting those once per process makes the sum an upper bound.
"""

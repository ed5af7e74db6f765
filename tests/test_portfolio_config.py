"""The strategy keys of the portfolio kinds (methodology §4.1): defaults, and a one-line error naming the key, the
value and the fix for each mistake."""

from __future__ import annotations

import pytest

from walkforward.config import Config, load_config
from walkforward.errors import ConfigError

ASSETS = ["SPY", "AAA", "BBB", "CCC", "DDD"]


def strategy(**keys):
    return Config.from_dict({"assets": ASSETS, "benchmark": "SPY", "strategy": keys}).strategy


def test_topk_keys_and_their_defaults():
    s = strategy(kind="topk", k=2, n_drop=1)
    assert (s.k, s.n_drop, s.gross, s.rebalance_every, s.long_only) == (2, 1, 1.0, 1, False)
    assert strategy(kind="topk", k=0.2).k == 0.2
    r = strategy(kind="rank_weighted", gross=2.0, rebalance_every=5, long_only=True)
    assert (r.k, r.n_drop, r.gross, r.rebalance_every, r.long_only) == (None, None, 2.0, 5, True)


def test_the_shipped_config_switches_kind_with_its_threshold_keys_at_their_defaults():
    cfg = load_config(None, **{"strategy.kind": "topk", "strategy.k": 2})
    assert cfg.strategy.kind == "topk"  # long_threshold 0, allow_short true, weighting available: the defaults
    with pytest.raises(ConfigError, match=r"strategy.k is for kind topk \(kind is 'rank_weighted'\); remove it"):
        cfg.replace(**{"strategy.kind": "rank_weighted"})  # k = 2 is not rank_weighted's
    assert load_config(None, **{"strategy.kind": "rank_weighted"}).strategy.kind == "rank_weighted"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"kind": "topk"}, r"strategy.k is required for kind 'topk': a count .* or a fraction like 0.1"),
        ({"kind": "topk", "k": 0}, r"strategy.k must be >= 1, got 0"),
        (
            {"kind": "topk", "k": 1.5},
            r"strategy.k must be a count >= 1 \(an integer\) or a fraction in \(0, 1\), got 1.5",
        ),
        ({"kind": "topk", "k": "ten"}, r"strategy.k must be a finite number, got 'ten'"),
        ({"kind": "topk", "k": 3}, r"strategy.k=3 is more than the 2 names a leg can hold with 5 assets \(two legs"),
        ({"kind": "topk", "k": 6, "long_only": True}, r"strategy.k=6 is more than the 5 names a leg can hold"),
        ({"kind": "topk", "k": 2, "n_drop": -1}, r"strategy.n_drop must be >= 0, got -1"),
        (
            {"kind": "topk", "k": 2, "weighting": "equal"},
            r"strategy.weighting is for kind threshold \(kind is 'topk'\)",
        ),
        (
            {"kind": "topk", "k": 2, "allow_short": False},
            r"allow_short is for kind threshold \(kind is 'topk'\); set strategy.long_only: true instead",
        ),
        ({"kind": "rank_weighted", "k": 2}, r"strategy.k is for kind topk \(kind is 'rank_weighted'\); remove it"),
        (
            {"long_only": True},
            r"strategy.long_only is for kind topk, rank_weighted .*; set strategy.allow_short: false",
        ),
        ({"kind": "threshold", "gross": 2.0}, r"strategy.gross is for kind topk, rank_weighted \(kind is 'thresh"),
        ({"kind": "topk", "k": 2, "gross": 0}, r"strategy.gross must be > 0 .* got 0.0"),
        ({"kind": "rank_weighted", "rebalance_every": 0}, r"strategy.rebalance_every must be >= 1, got 0"),
        ({"kind": "topk", "k": 2, "long_only": "yes"}, r"strategy.long_only must be true or false, got 'yes'"),
        (
            {"kind": "top_k", "k": 2},
            r"strategy.kind must be one of threshold, topk, rank_weighted.*Did you mean: 'topk'",
        ),
    ],
)
def test_bad_strategy_keys_are_one_line_errors(keys, message):
    with pytest.raises(ConfigError, match=message) as caught:
        strategy(**keys)
    assert "\n" not in str(caught.value)

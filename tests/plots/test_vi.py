"""Lecture 3's figures: the ELBO trace with its moving average, pairs labelled with their correlation."""

import numpy as np

from pp_vae import plots


def test_elbo_history_draws_the_steps_and_their_moving_average():
    elbo = np.arange(100.0)
    lines = {line.get_label(): line for line in plots.elbo_history(elbo, reference=120.0).axes[0].get_lines()}
    np.testing.assert_array_equal(lines["ELBO per step"].get_ydata(), elbo)
    assert lines["moving average (2)"].get_ydata()[0] == 0.5 and lines["log evidence"].get_ydata()[0] == 120.0


def test_pair_labels_each_method_with_its_correlation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    draws = {"a": {"x": x, "y": x + 0.2 * rng.normal(size=2000)}, "b": {"x": x, "y": rng.normal(size=2000)}}
    labels = [t.get_text() for t in plots.pair(draws, "x", "y").axes[0].get_legend().get_texts()]
    assert labels[0] == "a (corr +0.98)" and labels[1].startswith("b (corr ")


def test_ladder_puts_each_methods_sd_ratios_errors_cost_and_khat_side_by_side():
    import pandas as pd

    table = pd.DataFrame(
        [
            {"parameter": "a", "method": "nuts", "gradient_evaluations": 20000, "khat": None},
            {
                "parameter": "a",
                "method": "meanfield",
                "sd_ratio_to_nuts": 0.15,
                "mean_error_in_nuts_sd": -0.1,
                "gradient_evaluations": 900,
                "khat": 0.9,
            },
            {
                "parameter": "b",
                "method": "meanfield",
                "sd_ratio_to_nuts": 1.0,
                "mean_error_in_nuts_sd": 0.05,
                "gradient_evaluations": 900,
                "khat": 0.9,
            },
            {
                "parameter": "a",
                "method": "fullrank",
                "sd_ratio_to_nuts": 1.01,
                "mean_error_in_nuts_sd": 0.02,
                "gradient_evaluations": 1100,
                "khat": 0.3,
            },
        ]
    )
    spread, location, cost = plots.ladder(table).axes
    assert [t.get_text() for t in cost.get_xticklabels()] == ["meanfield\nk-hat 0.90", "fullrank\nk-hat 0.30"]
    np.testing.assert_allclose(spread.collections[0].get_offsets()[:, 1], [0.15, 1.0])
    np.testing.assert_allclose(location.collections[1].get_offsets()[:, 1], [0.02])
    assert [p.get_height() for p in cost.patches] == [900, 1100] and cost.get_lines()[0].get_ydata()[0] == 20000


def test_ladder_labels_a_psis_resampled_method():
    import pandas as pd

    table = pd.DataFrame(
        [
            {"parameter": "a", "method": "nuts", "gradient_evaluations": 20000, "khat": None, "psis_resampled": False},
            {"parameter": "a", "method": "fullrank", "sd_ratio_to_nuts": 1.0, "mean_error_in_nuts_sd": 0.0, "gradient_evaluations": 900}
            | {"khat": 0.4, "psis_resampled": False},
            {"parameter": "a", "method": "pathfinder", "sd_ratio_to_nuts": 1.0, "mean_error_in_nuts_sd": 0.0, "gradient_evaluations": 150}
            | {"khat": 0.3, "psis_resampled": True},
        ]
    )
    cost = plots.ladder(table).axes[2]
    assert [t.get_text() for t in cost.get_xticklabels()] == ["fullrank\nk-hat 0.40", "pathfinder\n(resampled)\nk-hat 0.30"]


def test_pair_panels_draw_each_method_over_the_reference():
    rng = np.random.default_rng(1)
    draws = {m: {"x": rng.normal(size=500), "y": rng.normal(size=500)} for m in ("a", "b")}
    reference = {"x": rng.normal(size=300), "y": rng.normal(size=300)}
    axes = plots.pair_panels(draws, "x", "y", reference=reference).axes
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    assert [len(c.get_offsets()) for c in axes[1].collections] == [300, 500] and axes[0].get_ylabel() == "y"

"""Lectures 7 and 8's figures draw the numbers they are given, on the axes their labels promise."""

import numpy as np

from pp_vae import plots
from pp_vae.inference.gradients import PerDrawGradients
from pp_vae.vae.rate_distortion import RateDistortion


def test_em_convergence_plots_the_distance_below_the_maximum_on_a_log_axis():
    fig = plots.em_convergence([1.0, 2.0, 2.9, 3.0], maximum=3.0)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [2.0, 1.0, 0.1])  # the last point, at the maximum, is off the log axis


def test_prior_sampling_plots_the_shortfalls_as_positive_nats():
    fig = plots.prior_sampling([1, 5], naive=[0.5, 50.0], iwae=[0.0, 0.2], posterior_kl=[1.0, 6.0], draws=1000)
    naive, iwae, kl, log_k = fig.axes[0].get_lines()
    np.testing.assert_allclose(naive.get_ydata(), [0.5, 50.0])
    np.testing.assert_allclose(iwae.get_ydata(), [0.2])  # a shortfall of zero cannot sit on a log axis
    np.testing.assert_allclose(log_k.get_ydata(), np.log(1000))


def test_rate_distortion_marks_the_best_elbo_contour_and_the_collapse_point():
    points = {
        0.5: RateDistortion(20.0, 90.0),
        1.0: RateDistortion(15.0, 92.0),
        4.0: RateDistortion(5.0, 120.0),
        8.0: RateDistortion(2.0, 140.0),
    }
    per_image = {0.5: np.array([-109.0, -111.0, -110.0]), 1.0: np.array([-106.0, -108.0, -107.0]), 4.0: np.zeros(3), 8.0: np.zeros(3)}
    fig = plots.rate_distortion(points, collapse_distortion=150.0, per_image_elbo=per_image, neighbours=1)
    curve, contour, collapse = fig.axes[0].get_lines()
    np.testing.assert_allclose(curve.get_xdata(), [20.0, 15.0, 5.0, 2.0])
    np.testing.assert_allclose(contour.get_xdata() + contour.get_ydata(), 107.0)  # R + D of beta = 1, the best
    assert collapse.get_xdata()[0] == 0 and collapse.get_ydata()[0] == 150.0
    # the close look: beta 1 and one neighbour each side, each at its rate and its -ELBO above the best
    near = fig.axes[1]
    line, _, (bars,) = near.containers[0]
    np.testing.assert_allclose(line.get_xdata(), [20.0, 15.0, 5.0])  # beta 8 is two steps away: left out
    np.testing.assert_allclose(line.get_ydata(), [3.0, 0.0, 18.0])
    half_widths = [segment[1, 1] - segment[0, 1] for segment in bars.get_segments()]
    np.testing.assert_allclose(np.array(half_widths) / 2, [0.0, 0.0, 2 * np.std([-106.0, -108.0, -107.0], ddof=1) / np.sqrt(3)])


def test_bit_gradients_show_the_exact_values_and_both_estimators():
    rng = np.random.default_rng(0)
    score, straight = PerDrawGradients(rng.normal(size=(50, 3))), PerDrawGradients(rng.normal(size=(50, 3)) * 0.1 + 1)
    fig = plots.bit_gradients(np.array([0.0, 1.0, 2.0]), score, straight)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["exact (all codes)", "score function, +- 2 SE", "straight-through, +- 2 SE"]


def test_indeterminacy_points_sit_where_they_are_given():
    fig = plots.indeterminacy([RateDistortion(0.0, 1.0), RateDistortion(0.4, 0.6)], entropy=1.0)
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(np.asarray(offsets), [[0.0, 1.0], [0.4, 0.6]])

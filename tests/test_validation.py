"""Input checks name the argument and the offending value."""

import numpy as np
import pytest

from pp_vae.validation import binary_vector, finite_scalar, finite_vector, positive_scalar, probability_vector


def test_accepts_good_values():
    assert positive_scalar("a", np.float32(2.5)) == 2.5
    assert finite_scalar("m", np.array(-1.0)) == -1.0
    np.testing.assert_array_equal(binary_vector("y", [True, False, 1]), [1, 0, 1])
    np.testing.assert_array_equal(finite_vector("y", 3.0), [3.0])
    assert probability_vector("p", [0.25, 0.75]).sum() == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: positive_scalar("scale", -0.1), "scale must be positive, got -0.1"),
        (lambda: positive_scalar("scale", True), "scale must be a real number, got True"),
        (lambda: finite_scalar("loc", None), "loc must be a real number, got None"),
        (lambda: finite_vector("y", [[1.0], [2.0, 3.0]]), "y must be a 1-D sequence of numbers"),
        (lambda: finite_vector("y", [1 + 2j]), "y must contain real numbers"),
        (lambda: binary_vector("flips", [0, 1, 3]), "flips must hold Bernoulli outcomes .* value 3 at index 2"),
    ],
)
def test_rejects_bad_values_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()

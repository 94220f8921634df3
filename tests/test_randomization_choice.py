"""Choice sampling: uniform and weighted frequencies, zero weights never drawn, scalar and array forms."""

import numpy as np

from simreal.randomization import Choice


def test_unweighted_choice_is_uniform_and_typed():
    c = Choice((0, 1, 2, 3))
    rng = np.random.default_rng(0)
    assert isinstance(c.sample(rng), int)
    counts = np.bincount(c.sample(rng, size=40000).astype(int), minlength=4) / 40000
    assert np.allclose(counts, 0.25, atol=0.01)


def test_zero_weights_are_never_drawn():
    rng = np.random.default_rng(1)
    for weights in ((0.0, 1.0, 0.0), (0.2, 0.0, 0.8), (0.0, 0.0, 1.0)):
        x = Choice(("a", "b", "c"), weights=weights).sample(rng, size=20000)
        freq = np.array([(x == k).mean() for k in "abc"])
        assert np.all(freq[np.asarray(weights) == 0] == 0)
        assert np.allclose(freq, weights, atol=0.015)
    assert Choice((5, 6), weights=(0.0, 3.0)).sample(rng) == 6

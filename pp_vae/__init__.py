"""pp-vae: a probabilistic-programming course, from conjugate posteriors to variational autoencoders.

One subpackage per stage of the course, dependencies pointing one way (each uses only those above it):

=====================  ==========================================================================
``pp_vae.validation``  input checks that name the argument and the value
``pp_vae.data``        datasets: synthetic regressions, scikit-learn's digits, MNIST IDX files
``pp_vae.bayes``       lecture 1: closed-form posteriors and information theory
``pp_vae.models``      the bundled models, each as Stan program, Pyro model, guide, NumPy density, exact posterior
``pp_vae.stan``        Stan programs, their data checks, builds and in-process log densities
``pp_vae.inference``   lectures 2-3: the one result type, NUTS, Metropolis, VI, PSIS, comparison
``pp_vae.vae``         lectures 4-6: the VAE family, its bounds, training and analyses
``pp_vae.plots``       the figures, one module per lecture
``pp_vae.course``      running the lectures, homework
``pp_vae.cli``         the ``pp-vae`` command
=====================  ==========================================================================

``import pp_vae`` imports none of them; each subpackage imports its modules on first use.
"""

__version__ = "0.1.0"

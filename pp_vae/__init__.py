"""pp-vae: a probabilistic-programming course, from conjugate posteriors to variational autoencoders.

Modules, in the one direction their dependencies point:
``validation`` -> ``conjugate``, ``info`` -> ``plots`` -> ``course`` -> ``cli``.
"""

__version__ = "0.1.0"

// Simulator for eight_schools_noncentered.stan (and the centred form): draws the parameters from the prior and
// a dataset given them. Its data block is the design the simulated data keep (J, sigma); its generated quantities
// are named as the model's parameters (the truth) and its data fields (y). Run with `pp-vae calibrate`.
data {
  int<lower=0> J;
  array[J] real<lower=0> sigma;
}
generated quantities {
  real mu = normal_rng(0, 5);
  real tau = abs(cauchy_rng(0, 5));
  vector[J] theta_raw = to_vector(normal_rng(rep_vector(0, J), 1));
  vector[J] theta = mu + tau * theta_raw;
  array[J] real y = normal_rng(theta, sigma);
}

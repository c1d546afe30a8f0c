// The mean of Normal data with known noise sd (lecture 1's NormalKnownVariance).
data {
  int<lower=0> N;
  vector[N] y;
  real prior_mean;
  real<lower=0> prior_sd;
  real<lower=0> noise_sd;
}
parameters {
  real mu;
}
model {
  mu ~ normal(prior_mean, prior_sd);
  y ~ normal(mu, noise_sd);
}
generated quantities {
  array[N] real y_rep = normal_rng(rep_vector(mu, N), noise_sd);
}

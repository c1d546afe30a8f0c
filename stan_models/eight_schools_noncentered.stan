// Eight schools, non-centred: theta = mu + tau * theta_raw with theta_raw ~ normal(0, 1).
// The same model as eight_schools_centered.stan without its funnel: NUTS diverges here rarely, not never
// (lecture 2 counts the divergences per seed).
data {
  int<lower=0> J;
  array[J] real y;
  array[J] real<lower=0> sigma;
}
parameters {
  real mu;
  real<lower=0> tau;
  vector[J] theta_raw;
}
transformed parameters {
  vector[J] theta = mu + tau * theta_raw;
}
model {
  mu ~ normal(0, 5);
  tau ~ cauchy(0, 5);
  theta_raw ~ normal(0, 1);
  y ~ normal(theta, sigma);
}
generated quantities {
  array[J] real y_rep = normal_rng(theta, sigma);
}

// A coin's bias: Beta(alpha, beta) prior, Bernoulli flips (lecture 1's BetaBernoulli).
// The prior is data, so one program serves every setting.
data {
  int<lower=0> N;
  array[N] int<lower=0, upper=1> y;
  real<lower=0> alpha;
  real<lower=0> beta;
}
parameters {
  real<lower=0, upper=1> theta;
}
model {
  theta ~ beta(alpha, beta);
  y ~ bernoulli(theta);
}
generated quantities {
  // a replicated dataset of the observed size, one per draw
  array[N] int y_rep;
  for (n in 1:N) {
    y_rep[n] = bernoulli_rng(theta);
  }
}

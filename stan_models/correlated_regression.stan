// A linear regression on an uncentred predictor (like posteriordb's kid-IQ): x sits near 100 with sd 15,
// so the intercept and the slope trade off and their posterior correlation is about -0.99.
// Lecture 3's case where mean-field VI collapses and full-rank VI does not.
data {
  int<lower=1> N;
  vector[N] x;
  vector[N] y;
}
parameters {
  real alpha;
  real beta;
  real<lower=0> sigma;
}
model {
  alpha ~ normal(0, 100);
  beta ~ normal(0, 10);
  sigma ~ exponential(0.1);
  y ~ normal(alpha + beta * x, sigma);
}

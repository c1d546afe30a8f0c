// A banana: x[1] ~ normal(0, 1), x[2] | x[1] ~ normal(b * x[1]^2, 1). Its mode is at 0 with unit
// curvature, but E[x[2]] = b and sd(x[2]) = sqrt(1 + 2 b^2): no Gaussian follows the curve (lecture 3's
// case for a normalising flow).
data {
  real<lower=0> b;
}
parameters {
  vector[2] x;
}
model {
  x[1] ~ normal(0, 1);
  x[2] ~ normal(b * square(x[1]), 1);
}

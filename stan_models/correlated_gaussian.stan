// A 2-D Gaussian with correlation rho: the smallest target on which mean-field VI is visibly wrong
// (its marginal sds shrink to sqrt(1 - rho^2)).
data {
  real<lower=-1, upper=1> rho;
}
parameters {
  vector[2] z;
}
model {
  z ~ multi_normal([0, 0]', [[1, rho], [rho, 1]]);
}

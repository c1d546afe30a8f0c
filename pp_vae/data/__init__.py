"""The course's datasets: synthetic regressions (lectures 2-3) and images for the VAE (lectures 4-9)."""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "synthetic": ["logistic_regression_data", "without_truth", "gaussian_with_spectrum", "spectrum_data"],
        "images": [
            "ImageData",
            "IDX_FILES",
            "check_pixels",
            "load_digits",
            "load_mnist",
            "load_mnist5k",
            "mnist5k_arrays",
            "read_idx",
        ],
        "binarization": ["BINARIZATIONS", "bernoulli_draw", "binarize_images"],
        "datasets": ["DATASETS", "load_dataset"],
        "dequantization": ["bin_log_width", "dequantize"],
    },
)

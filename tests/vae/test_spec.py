"""The VAE spec: it builds exactly the networks the keyword constructors built (same parameters, same loss, same
seed), holds the one default of each option, and refuses by name an option the chosen member would not read."""

from __future__ import annotations

import hashlib
import re

import pyro
import pytest
import torch

from pp_vae.vae import FAMILIES, TrainConfig, VAESpec, build_vae
from pp_vae.vae.spec import DEFAULTS

# (kind, keyword options) built by the constructor's own defaults (the likelihood left to them)
DIRECT = [
    ("vae", {"latent_dim": 3, "hidden_dim": 8}),
    ("iaf", {"latent_dim": 3, "hidden_dim": 8, "flows": 3}),
    ("ladder", {"latent_dim": 3, "hidden_dim": 8, "top_dim": 2}),
    ("binary", {"latent_dim": 3, "hidden_dim": 8}),
    ("vae", {"latent_dim": 2, "hidden_dim": 8, "likelihood": "gaussian", "sigma": 0.3, "arch": "linear"}),
]
# TrainConfig options, built as training builds them on 16-pixel images of 16 grey levels, 4x4
TRAINED = [
    {"model": "vae", "latent_dim": 3, "hidden_dim": 8},
    {"model": "iaf", "latent_dim": 3, "hidden_dim": 8, "flows": 1},
    {"model": "ladder", "latent_dim": 3, "hidden_dim": 8, "top_dim": 3},
    {"model": "binary", "latent_dim": 3, "hidden_dim": 8},
    {"model": "vae", "latent_dim": 2, "hidden_dim": 8, "arch": "conv", "likelihood": "gaussian", "sigma": "learned"},
]
# sha256 of the parameters' bytes and float.hex of the summed ELBO, recorded from the keyword constructors
# before the spec replaced them (commit "test: record what the keyword constructors build")
EXPECTED_DIRECT = [
    ("f46b57b41219275ffaaae1e618cdc2e02b26aea1472a9e63dcac9b5f2c7ee2fc", "-0x1.ff86f20000000p+5"),
    ("dacc5aeab712f336f534e447787f7b2e0a900cedc8586ef4d811d411e5573fa7", "-0x1.dae0900000000p+5"),
    ("39e0976d563e42f72f6cb8f03322f283ccb15b38b8b2826398d514c4342b7361", "-0x1.04f3fa0000000p+6"),
    ("f46b57b41219275ffaaae1e618cdc2e02b26aea1472a9e63dcac9b5f2c7ee2fc", "-0x1.c8c48c0000000p+5"),
    ("05a17de9948e5c14c6a65574ba9ed277f7a11becc01e3893575f4e0f87efa7d4", "-0x1.2d8c820000000p+9"),
]
EXPECTED_TRAINED = [
    ("4b3b2fd393479fe97c97287f18168c484e09e82dc8b16a1cae795690b22b4bd5", "-0x1.c736480000000p+9"),
    ("4e901176aebd7d7c0c915f98d55a57172fb8812c28571bdb683ae2ee0d855f3f", "-0x1.c524540000000p+9"),
    ("e3e747245740d013c32fd2d13726e2a317576e8cdba288b5ba5798871584c3a8", "-0x1.d2affc0000000p+9"),
    ("4b3b2fd393479fe97c97287f18168c484e09e82dc8b16a1cae795690b22b4bd5", "-0x1.bb2c780000000p+9"),
    ("22d48cade24a4b252e3e9e28a4410665cf32ffa835fa8d9612ff4d0c5769b2be", "-0x1.7df7d40000000p+6"),
]


def _fingerprint(vae: torch.nn.Module) -> tuple[str, str]:
    digest = hashlib.sha256()
    for name, parameter in vae.state_dict().items():
        digest.update(name.encode())
        digest.update(parameter.detach().cpu().contiguous().numpy().tobytes())
    generator = torch.Generator().manual_seed(7)
    x = (torch.rand(5, 16, generator=generator) > 0.5).float()  # 0/1: a Bernoulli pixel and a count of 0 or all trials
    pyro.set_rng_seed(11)
    return digest.hexdigest(), float(vae.elbo(x, 4).sum().detach()).hex()


def _direct(kind: str, options: dict) -> torch.nn.Module:
    torch.manual_seed(3)
    return build_vae(kind, 16, **options)


def _from_spec(kind: str, options: dict) -> torch.nn.Module:
    torch.manual_seed(3)
    return FAMILIES[kind].load()(VAESpec(16, **options))


def _trained(options: dict) -> torch.nn.Module:
    from pp_vae.vae.training import new_vae

    class Images:  # what new_vae reads of the data
        input_dim, levels, image_shape = 16, 16, (4, 4)

    return new_vae(Images(), TrainConfig(seed=5, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize(("case", "expected"), list(zip(DIRECT, EXPECTED_DIRECT, strict=True)))
def test_a_spec_builds_what_the_keywords_built(case, expected):
    assert _fingerprint(_direct(*case)) == expected
    assert _fingerprint(_from_spec(*case)) == expected


@pytest.mark.parametrize(("options", "expected"), list(zip(TRAINED, EXPECTED_TRAINED, strict=True)))
def test_training_builds_from_its_config_what_it_built_before(options, expected):
    assert _fingerprint(_trained(options)) == expected


def test_one_default_likelihood_read_the_same_by_the_spec_the_config_and_the_cli():
    from pp_vae.cli import build_parser

    parsed = vars(build_parser().parse_args(["train"]))
    assert {name: parsed[name] for name in vars(TrainConfig())} == vars(TrainConfig())  # the CLI's defaults are the config's
    assert TrainConfig().likelihood == VAESpec(16).likelihood == "auto"
    assert VAESpec(16).likelihood_name() == "bernoulli" and VAESpec(16, trials=16).likelihood_name() == "binomial"
    assert TrainConfig().vae_spec(16, data_levels=16).likelihood_name() == "binomial"  # the digits' grey levels
    assert TrainConfig().vae_spec(16, data_levels=1).likelihood_name() == "bernoulli"  # binarised images


@pytest.mark.parametrize(
    ("kind", "option", "value", "reader"), [("vae", "flows", 3, "iaf"), ("binary", "top_dim", 2, "ladder"), ("iaf", "top_dim", 5, "ladder")]
)
def test_an_option_the_member_does_not_read_is_refused_by_name(kind, option, value, reader):
    message = f"model '{kind}' does not read {option} (set to {value}): only model '{reader}' does"
    with pytest.raises(ValueError, match=re.escape(message)):
        build_vae(kind, 16, latent_dim=2, **{option: value})
    with pytest.raises(ValueError, match="does not read"):
        FAMILIES[kind].load()(VAESpec(16, latent_dim=2, **{option: value}))
    with pytest.raises(ValueError, match="does not read"):
        TrainConfig(model=kind, **{option: value})
    build_vae(reader, 16, latent_dim=2, **{option: value})  # its own member reads it
    build_vae(kind, 16, latent_dim=2, **{option: DEFAULTS[option]})  # the default is no choice


def test_an_option_no_member_reads_is_refused_by_name():
    with pytest.raises(ValueError, match="no VAE reads an option 'flow'; the options are arch, flows, "):
        build_vae("iaf", 16, flow=3)

import pytest

from sclc.errors import SpecError
from sclc.spec import load_spec, parse_spec

from conftest import SPECS, write

BASE = '''name = "t"

[backbone]
name = "wacnn"
N = 32
M = 40
num_slices = 5

[structural_prior]
name = "{prior}"

[block]
name = "nesft"
{extra}
'''


def test_unknown_prior_names_value_line_and_choices(tmp_path):
    path = write(tmp_path, BASE.format(prior="lapacian", extra=""))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert f"{path}:10" in message
    assert "unknown structural prior 'lapacian'" in message
    assert "laplacian, sobel, uniform" in message and "did you mean 'laplacian'" in message


def test_unknown_key_is_rejected_with_line_and_valid_keys(tmp_path):
    path = write(tmp_path, BASE.format(prior="laplacian", extra="hiden = 3"))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert f"{path}:14" in message and "unknown key 'hiden' in [block]" in message
    assert "did you mean 'hidden'" in message and "valid keys: hidden, slope" in message


def test_wrong_type_names_key_value_and_type(tmp_path):
    path = write(tmp_path, BASE.format(prior="laplacian", extra="").replace("N = 32", 'N = "big"'))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert f"{path}:5" in str(err.value)
    assert "N = 'big' (str) must be int" in str(err.value)


@pytest.mark.parametrize("data, fragment", [
    ({}, "needs a [backbone] table"),
    ({"backbone": {"name": "wacnn"}, "colour": 1}, "unknown top-level key 'colour'"),
    ({"backbone": {"name": "wacnn", "M": 33}}, "M = 33 must be divisible by num_slices = 10"),
    ({"backbone": {"name": "wacnn"}, "block": {"name": "nesft", "sites": ["g_x"]}}, "choose one of 'g_a'"),
    ({"backbone": {"name": "hyperprior"}, "block": {"name": "nesft"}}, "backbone 'hyperprior' has no injection site"),
    ({"backbone": {"name": "wacnn"}, "loss": {"name": "mse", "lmbda": -1}}, "lmbda = -1.0 must be > 0"),
    ({"backbone": {"name": "wacnn"}, "train": {"batch_size": True}}, "batch_size = True (bool) must be int"),
    ({"backbone": {"name": "wacnn"}, "text_prior": {"name": "craft", "threshold": 2.0}}, "threshold = 2.0 must lie in [0, 1]"),
    ({"backbone": {"name": "wacnn"}, "loss": {"name": "mse", "gain": 2}}, "loss 'mse' takes no parameters"),
    ({"backbone": "wacnn"}, "'backbone' must be a table"),
])
def test_malformed_specs(data, fragment, registry):
    with pytest.raises(SpecError) as err:
        parse_spec(data, registry=registry)
    assert fragment in str(err.value)


def test_defaults_and_round_trip(registry):
    spec = parse_spec({"backbone": {"name": "wacnn"}}, registry=registry)
    assert spec.backbone.params.N == 192 and spec.backbone.params.M == 320
    assert spec.block.name == "none" and not spec.conditioned
    assert spec.train.batch_size == 8 and spec.train.lr == 1e-4
    full = load_spec(SPECS / "paper.toml")
    assert parse_spec(full.to_dict(), registry=registry) == full


def test_overrides_are_validated_like_the_file():
    spec = load_spec(SPECS / "paper.toml", ["backbone.N=64", "block.name=sft_cb", "train.max_iters=20"])
    assert spec.backbone.params.N == 64 and spec.block.name == "sft_cb" and spec.train.max_iters == 20
    with pytest.raises(SpecError, match="unknown key 'max_iter'"):
        load_spec(SPECS / "paper.toml", ["train.max_iter=20"])
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        load_spec(SPECS / "paper.toml", ["train.max_iters"])


def test_unreadable_and_invalid_toml(tmp_path):
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(write(tmp_path, "[backbone\nname = 1"))

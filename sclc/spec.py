"""The spec: a TOML file validated once, at the edge, into typed objects.

Layout (every table optional except ``[backbone]``'s ``name``)::

    name = "paper-full"
    seed = 0
    [backbone]          name = one of `sclc list --kind backbone`, then the backbone's own keys
    [structural_prior]  name = "laplacian" | "sobel" | "uniform" | ...
    [text_prior]        name = "craft" | "east" | "rrd" | "none" | ..., then detector keys
    [guidance]          name = "epg" (paper eq. 6, the default), epsilon = 1.0; old specs' [epg] means the same
    [block]             name = "nesft" | "sft_cb" | "none", sites = [...] (default: every site the backbone offers)
    [loss]              name = "mse" | "wmse" | "ms-ssim", lmbda = 0.0067
    [variable_rate]     lmbda_min, lmbda_max: one model for every rate (sclc.quality)
    [train]             see TrainSpec
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sclc.errors import SpecError, UnknownComponentError
from sclc.hookspecs import KIND, KINDS
from sclc.quality import VariableRateSpec
from sclc.registry import Registry, default_registry
from sclc.schema import Locator, above, at_least, from_table, to_table


@dataclass(frozen=True)
class Choice:
    """A component picked by name, with its validated parameters."""

    name: str
    params: Any = None

    def to_table(self) -> dict:
        table = {"name": self.name}
        if self.params is not None:
            table.update(to_table(self.params))
        return table


@dataclass(frozen=True)
class TrainSpec:
    data: str | tuple[str, ...] | None = None  # image folder(s), recursive; none -> synthetic screens
    val_data: str | tuple[str, ...] | None = None  # validation folder(s); none -> synthetic screens
    min_crop_std: float = 2.0  # redraw random crops whose luma std is below this (grey levels; 0 = off)
    masks: Literal["boxes", "detector", "none"] = "boxes"  # boxes: *.tsv / gt_*.txt beside images
    box_dirs: tuple[str, ...] = ()  # extra folders searched for <stem>.tsv / gt_<stem>.txt
    mask_cache: str | None = None  # detector-mask cache folder; none -> WORK_DIR/mask_cache
    cache_mb: int = 1024  # decoded training images kept in memory (per process; 0 = decode every time)
    crop: int = 256
    batch_size: int = 8
    flip: bool = True  # random horizontal flips
    lr: float = 1e-4
    # Adam moves every parameter by about lr per step, but the quality gains are log step sizes
    # that must travel ~1 to spread the rate over a lambda range: at lr 1e-4 they stay where they
    # started for thousands of steps. Their learning rate is lr times this.
    gain_lr_scale: float = 1.0
    aux_lr: float = 1e-3  # Adam on the entropy bottleneck quantiles (CompressAI's aux loss)
    # plateau: the reference's ReduceLROnPlateau; cosine: lr down to min_lr at max_iters or at the
    # end of max_minutes, whichever comes first (a run that ends in a decay)
    lr_schedule: Literal["plateau", "constant", "cosine"] = "plateau"
    plateau_factor: float = 0.3  # reference: ReduceLROnPlateau(factor=0.3, patience=4)
    plateau_patience: int = 4  # in validation rounds
    min_lr: float = 2.7e-6  # paper: train until the rate drops to 2.7e-6; also cosine's end
    clip_grad: float = 1.0  # max gradient norm of the main parameters (0 = off)
    # Hyperprior warm-up: z's bits count from 0 up to fully over this many iterations, so h_a and
    # h_s learn to use z before its cost can collapse it (0 = off; sclc.train.rate_warmup).
    hyper_rate_warmup: int = 0
    max_iters: int = 500_000
    max_minutes: float = 0.0  # stop after this much training time per run (0 = no limit); resumable
    val_interval: int = 5_000
    val_images: int = 8
    val_crop: int = 256
    checkpoint_interval: int = 5_000
    max_keep_checkpoints: int = 3
    log_interval: int = 50
    workers: int = 0  # data-loader processes
    synthetic_images: int = 100_000  # distinct generated screens before the stream repeats
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["off", "bf16", "auto"] = "off"  # bf16 autocast of the transforms; auto: where the device has native bf16
    init_from: str | None = None  # stage 2: start from this codec or training checkpoint
    init_fresh_blocks: bool = False  # ... but its conditioning blocks start fresh (the identity)
    # encoder: train the analysis side only (the decoder frozen, so files still decode with it).
    # On the shipped models it bought 0.2-0.7 % (RESULTS.md, round 13): a tool for experiments.
    trainable: Literal["all", "encoder"] = "all"

    def __post_init__(self):
        at_least(self, 1, "crop", "batch_size", "max_iters", "val_interval", "checkpoint_interval", "val_images",
                 "val_crop", "log_interval", "synthetic_images", "max_keep_checkpoints")
        at_least(self, 0, "cache_mb", "min_crop_std", "max_minutes", "workers", "clip_grad", "hyper_rate_warmup")
        above(self, 0, "lr", "aux_lr", "gain_lr_scale")
        if self.trainable == "encoder" and not self.init_from:
            raise ValueError('trainable = "encoder" keeps the decoder as it is: it needs init_from (a trained model)')


@dataclass(frozen=True)
class Spec:
    backbone: Choice
    name: str = "unnamed"
    seed: int = 0
    structural_prior: Choice = Choice(KIND["structural_prior"].default)
    text_prior: Choice = Choice(KIND["text_prior"].default)
    guidance: Choice = Choice(KIND["guidance"].default)
    block: Choice = Choice(KIND["block"].default)
    sites: tuple[str, ...] = ()  # where the block acts; parse_spec fills in the backbone's sites
    loss: Choice = Choice(KIND["loss"].default)
    lmbda: float = 0.0067
    variable_rate: VariableRateSpec | None = None  # set: per-pixel quality maps instead of one lambda
    train: TrainSpec = field(default_factory=TrainSpec)
    conditioned: bool = False  # the block acts somewhere: parse_spec asks the block and the sites

    def to_dict(self) -> dict:
        """Canonical plain data (defaults filled in); ``parse_spec`` of it gives an equal Spec."""
        return {
            "name": self.name,
            "seed": self.seed,
            **{kind.name: getattr(self, kind.name).to_table() for kind in KINDS if kind.name != "guidance"},
            **_guidance_table(self.guidance),
            "block": {**self.block.to_table(), "sites": list(self.sites)},
            "loss": {**self.loss.to_table(), "lmbda": self.lmbda},
            "train": to_table(self.train),
            # Only when set, so the canonical data (and ids) of fixed-rate specs stay as they were.
            **({"variable_rate": to_table(self.variable_rate)} if self.variable_rate else {}),
        }


_TOP_KEYS = {"name": str, "seed": int}
# Guidance "epg" was a fixed formula with the table [epg] before guidance became a kind. Specs that
# use it keep that table in their canonical data, so their data and model ids stay as they were.
OLD_GUIDANCE = "epg"  # the old table, and the component it means


def _guidance_table(choice: Choice) -> dict:
    if choice.name == OLD_GUIDANCE:
        return {OLD_GUIDANCE: {k: v for k, v in choice.to_table().items() if k != "name"}}
    return {"guidance": choice.to_table()}


def _guidance(data: dict, registry: Registry, locator: Locator) -> Choice:
    """[guidance], or the old [epg] table: guidance "epg" with that table's keys."""
    if OLD_GUIDANCE not in data:
        return _choice("guidance", data.get("guidance", {}), registry, locator)
    if "guidance" in data:
        raise SpecError(f"{locator.where((OLD_GUIDANCE,))}: [epg] is the old spelling of [guidance] name = \"epg\""
                        f" — write its keys in [guidance] and drop [epg]")
    old = data[OLD_GUIDANCE]
    if not isinstance(old, dict):
        raise SpecError(f"{locator.where(())}: 'epg' must be a table, got {old!r}")
    if "name" in old:
        raise SpecError(f"{locator.where((OLD_GUIDANCE,), 'name')}: [epg] takes no name"
                        f" — choose the guidance with [guidance] name = ...")
    return _choice("guidance", {**old, "name": OLD_GUIDANCE}, registry, locator, table_name=OLD_GUIDANCE)


def _choice(kind: str, table: Any, registry: Registry, locator: Locator, table_name: str | None = None) -> Choice:
    own_keys, default = KIND[kind].own_keys, KIND[kind].default
    table_name = table_name or kind
    path = (table_name,)
    if not isinstance(table, dict):
        raise SpecError(f"{locator.where(())}: '{table_name}' must be a table, got {table!r}")
    name = table.get("name", default)
    if name is None:
        raise SpecError(f"{locator.where(path)}: [{table_name}] is missing required key 'name'")
    if not isinstance(name, str):
        raise SpecError(f"{locator.where(path, 'name')}: [{table_name}] name = {name!r} must be a string")
    try:
        component = registry.get(kind, name)
    except UnknownComponentError as exc:
        raise UnknownComponentError(f"{locator.where(path, 'name')}: {exc}") from None
    params_table = {k: v for k, v in table.items() if k not in own_keys}
    if component.params is None:
        if params_table:
            key = next(iter(params_table))
            raise SpecError(f"{locator.where(path, key)}: unknown key '{key}' in [{table_name}]"
                            f" — {kind} '{name}' takes no parameters")
        return Choice(name)
    params = from_table(component.params, params_table, path=path, locator=locator,
                        label=f"{kind} '{name}'")
    return Choice(name, params)


def parse_spec(data: dict, *, registry: Registry | None = None, text: str = "",
               source: str = "<spec>") -> Spec:
    """Validate plain spec data (as loaded from TOML) into a :class:`Spec`."""
    registry = registry or default_registry()
    locator = Locator(text, source)
    known = set(_TOP_KEYS) | set(KIND) | {OLD_GUIDANCE, "train", "variable_rate"}
    for key, value in data.items():
        if key not in known:
            raise SpecError(f"{locator.where((), key)}: unknown top-level key '{key}'"
                            f" — valid keys: {', '.join(sorted(known))}")
        if key in _TOP_KEYS and (not isinstance(value, _TOP_KEYS[key]) or isinstance(value, bool)):
            raise SpecError(f"{locator.where((), key)}: {key} = {value!r} must be {_TOP_KEYS[key].__name__}")
        if key == "seed" and not 0 <= value < 2 ** 63:  # torch.manual_seed takes a signed 64-bit seed
            raise SpecError(f"{locator.where((), key)}: seed = {value} must lie in 0 .. 2^63 - 1")
    if "backbone" not in data:
        raise SpecError(f"{source}: the spec needs a [backbone] table with a name"
                        f" — registered backbones: {', '.join(registry.names('backbone'))}")
    choices = {t: _choice(t, data.get(t, {}), registry, locator) for t in KIND if t != "guidance"}
    choices["guidance"] = _guidance(data, registry, locator)
    supported = tuple(registry.get("backbone", choices["backbone"].name).extra.get("sites", ()))
    block_table = data.get("block", {})
    sites = from_table(_Sites, {k: v for k, v in block_table.items() if k == "sites"},
                       path=("block",), locator=locator).sites
    sites = supported if sites is None else sites
    conditions = registry.get("block", choices["block"].name).extra.get("conditions", True)
    loss_table = data.get("loss", {})
    lmbda = from_table(_Lambda, {k: v for k, v in loss_table.items() if k == "lmbda"},
                       path=("loss",), locator=locator).lmbda
    spec = Spec(
        name=data.get("name", "unnamed"),
        seed=data.get("seed", 0),
        train=from_table(TrainSpec, data.get("train", {}), path=("train",), locator=locator),
        sites=sites,
        lmbda=lmbda,
        conditioned=conditions and bool(sites),
        variable_rate=(from_table(VariableRateSpec, data["variable_rate"], path=("variable_rate",), locator=locator)
                       if "variable_rate" in data else None),
        **choices,
    )
    if conditions:
        bad = [s for s in spec.sites if s not in supported]
        if bad or not supported:
            raise SpecError(
                f"{locator.where(('block',), 'sites')}: backbone '{spec.backbone.name}' has no injection site "
                + (f"{', '.join(map(repr, bad))} — choose one of {', '.join(map(repr, supported))}" if supported
                   else f"for block '{spec.block.name}'"))
    if spec.variable_rate and not (spec.conditioned and set(spec.sites) & {"g_a", "h_a"}):
        raise SpecError(f"{locator.where(('variable_rate',))}: a variable-rate model needs a conditioning block "
                        f"at g_a or h_a, where the encoder sees the quality map (block.name, block.sites)")
    return spec


@dataclass(frozen=True)
class _Sites:
    sites: tuple[str, ...] | None = None  # None: the backbone's sites

    def __post_init__(self):
        if self.sites is not None and len(set(self.sites)) != len(self.sites):
            raise ValueError(f"sites {list(self.sites)} lists a site twice")


@dataclass(frozen=True)
class _Lambda:
    lmbda: float = 0.0067

    def __post_init__(self):
        above(self, 0, "lmbda")


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"backbone.N=64"`` -> (["backbone", "N"], 64); the value is read as TOML, else as a string."""
    if "=" not in item:
        raise SpecError(f"--set {item!r}: expected KEY=VALUE, e.g. backbone.N=64")
    key, raw = item.split("=", 1)
    path = [p.strip() for p in key.strip().split(".")]
    if not all(path):
        raise SpecError(f"--set {item!r}: empty key part")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def sweep_overrides(sweep: str | None) -> list[list[str]]:
    """``KEY=V1,V2,...`` -> one override list per value (``[[]]`` without a sweep)."""
    if sweep is None:
        return [[]]
    key, _, values = sweep.partition("=")
    if not key or not values:
        raise SpecError(f"--sweep {sweep!r}: expected KEY=V1,V2,... (e.g. threshold=0.5,0.6,0.7)")
    return [[f"{key}={value}"] for value in _split_top_level(values) if value]


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: ``[1.0],[0.75,1.25]`` -> ``["[1.0]", "[0.75,1.25]"]``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    data = _deep_copy(data)
    for item in overrides:
        path, value = parse_override(item)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(f"--set {item!r}: '{part}' is not a table")
            node = child
        node[path[-1]] = value
    return data


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def load_spec(path: str | Path, overrides: list[str] = (), registry: Registry | None = None) -> Spec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a spec (not UTF-8 text)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    if overrides:
        data = apply_overrides(data, list(overrides))
    return parse_spec(data, registry=registry, text=text, source=str(path))


def replace(spec: Spec, **changes) -> Spec:
    return dataclasses.replace(spec, **changes)

"""Build an mmengine Runner for any spec: data, optimisers, schedule, hooks, DDP."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from mmengine.dataset import DefaultSampler
from mmengine.hooks import LoggerHook
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import Runner
from torch.utils.data import default_collate

from sclc.builder import build_loss, build_model
from sclc.data.folder import ImageFolder
from sclc.data.stream import CropStream, FixedCrops, StreamSampler, SyntheticSource
from sclc.errors import SclcError
from sclc.registry import default_registry
from sclc.spec import Spec
from sclc.train.amp import resolve_amp
from sclc.train.atomic import AtomicCheckpointHook
from sclc.train.hooks import SclcCheckpointHook
from sclc.train.init import init_weights, load_state_for_init
from sclc.train.loop import StreamTrainLoop
from sclc.train.lr_schedule import CosineLRHook, PlateauLRHook
from sclc.train.metric import CodecMetric
from sclc.train.model import (
    SclcDistributedDataParallel,
    TrainableCodec,
    is_aux_parameter,
    is_quality_gain,
)
from sclc.train.rate_warmup import HyperRateWarmupHook
from sclc.train.watch import HyperpriorHealthHook, TimeBudgetHook

VAL_SEED_OFFSET = 10_000_019  # validation screens never coincide with training screens


def resolve_device(requested: str) -> str:
    if requested == "cuda" and not torch.cuda.is_available():
        raise SclcError("--device cuda requested but no CUDA device is available")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _folder(path: str | tuple[str, ...], spec: Spec, model, work_dir: Path) -> ImageFolder:
    t = spec.train
    detector = None
    if t.masks == "detector":
        from sclc.data.mask_cache import MaskCache

        cache_dir = t.mask_cache or str(work_dir / "mask_cache")
        detector = MaskCache(cache_dir, spec.text_prior.name, spec.text_prior.params, model.text_prior)
    return ImageFolder(path, masks=t.masks, box_dirs=t.box_dirs, detector=detector, cache_mb=t.cache_mb)


def build_datasets(spec: Spec, model, work_dir: Path):
    t = spec.train
    if t.data:
        train_source = _folder(t.data, spec, model, work_dir)
    else:
        train_source = SyntheticSource(t.crop, t.synthetic_images, seed=spec.seed)
    if t.val_data:
        val_source = _folder(t.val_data, spec, model, work_dir)
    else:
        val_source = SyntheticSource(t.val_crop, t.val_images, seed=spec.seed + VAL_SEED_OFFSET)
    return (CropStream(train_source, t.crop, seed=spec.seed, flip=t.flip, min_std=t.min_crop_std,
                       rate=spec.variable_rate),
            FixedCrops(val_source, t.val_crop, t.val_images, rate=spec.variable_rate))


def main_param_groups(named: list, lr: float, gain_lr_scale: float) -> list[dict]:
    """One Adam group, or two when the quality gains learn faster (``lr_scale``: what the
    schedules multiply their learning rate by)."""
    gains = [p for n, p in named if is_quality_gain(n)]
    if gain_lr_scale == 1.0 or not gains:
        return [{"params": [p for _, p in named], "lr_scale": 1.0}]
    rest = [p for n, p in named if not is_quality_gain(n)]
    return [{"params": rest, "lr_scale": 1.0},
            {"params": gains, "lr": lr * gain_lr_scale, "lr_scale": gain_lr_scale}]


def build_optim_wrapper(trainable: TrainableCodec, spec: Spec) -> OptimWrapperDict:
    t = spec.train
    main = [(n, p) for n, p in trainable.named_parameters() if not is_aux_parameter(n) and p.requires_grad]
    aux = [p for n, p in trainable.named_parameters() if is_aux_parameter(n) and p.requires_grad]
    clip = dict(max_norm=t.clip_grad) if t.clip_grad > 0 else None
    wrappers = {"main": OptimWrapper(torch.optim.Adam(main_param_groups(main, t.lr, t.gain_lr_scale), lr=t.lr),
                                     clip_grad=clip)}
    # A backbone without an entropy bottleneck has no aux parameters: aux then steps one unused
    # placeholder, so the step code needs no special case.
    wrappers["aux"] = OptimWrapper(torch.optim.Adam(aux or [torch.nn.Parameter(torch.zeros(1))], lr=t.aux_lr))
    return OptimWrapperDict(**wrappers)


def build_runner(spec: Spec, work_dir: str | Path, *, resume: bool = False, launcher: str = "none",
                 device: str | None = None) -> Runner:
    t = spec.train
    work_dir = Path(work_dir)
    if launcher != "none" and "RANK" not in os.environ and not torch.distributed.is_initialized():
        raise SclcError(f"--launcher {launcher} runs under torchrun (RANK is not set): "
                        f"torchrun --nproc_per_node N -m sclc train ... --launcher {launcher}")
    device = resolve_device(device or t.device)
    if device == "cpu":
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # mmengine picks CUDA whenever it sees one

    registry = default_registry()
    codec = build_model(spec, registry)
    if t.init_from:
        fresh = init_weights(codec, load_state_for_init(t.init_from, spec), t.init_from, t.init_fresh_blocks)
        if fresh:
            print(f"init_from {t.init_from}: {len(fresh)} prior-branch tensors start fresh (not in the file)")
    if t.trainable == "encoder":
        codec.freeze_decoder()
        params = list(codec.parameters())
        print(f"trainable = encoder: {sum(p.numel() for p in params if p.requires_grad):,} parameters train, "
              f"the decoder's {sum(not p.requires_grad for p in params)} tensors are frozen")
    amp, note = resolve_amp(t.amp, device)
    if note:
        print(note)
    model = TrainableCodec(codec, build_loss(spec, registry), amp=amp)
    train_set, val_set = build_datasets(spec, codec, work_dir)
    for name, dataset in (("training", train_set), ("validation", val_set)):
        skipped = getattr(dataset.source, "skipped", [])
        if skipped:
            print(f"{name} data: skipped {len(skipped)} unreadable image(s), e.g. {skipped[0]}")
    optim_wrapper = build_optim_wrapper(model, spec)

    distributed = launcher != "none"
    if distributed:
        # Set up the process group ourselves: mmengine's init_dist assumes a GPU per rank.
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        if not torch.distributed.is_initialized():
            if device == "cuda":
                torch.cuda.set_device(local_rank)
            torch.distributed.init_process_group(backend="nccl" if device == "cuda" else "gloo")
        if device == "cuda":
            model = model.cuda()
        model = SclcDistributedDataParallel(module=model, device_ids=[local_rank] if device == "cuda" else None,
                                            broadcast_buffers=False)
    else:
        model = model.to(device)

    hooks = [SclcCheckpointHook(spec.to_dict()), HyperpriorHealthHook(), TimeBudgetHook(t.max_minutes)]
    if t.hyper_rate_warmup:
        hooks.append(HyperRateWarmupHook(t.hyper_rate_warmup))
    if t.lr_schedule == "plateau":
        hooks.append(PlateauLRHook(t.plateau_factor, t.plateau_patience, t.min_lr))
    elif t.lr_schedule == "cosine":
        hooks.append(CosineLRHook(t.lr, t.min_lr, t.max_iters, t.max_minutes))
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f"{spec.name}_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}",
        train_dataloader=dict(dataset=train_set, sampler=dict(type=StreamSampler), batch_size=t.batch_size,
                              num_workers=t.workers, collate_fn=dict(type=default_collate),
                              generator=torch.Generator().manual_seed(spec.seed)),
        train_cfg=dict(type=StreamTrainLoop, max_iters=t.max_iters, val_interval=t.val_interval),
        val_dataloader=dict(dataset=val_set, sampler=dict(type=DefaultSampler, shuffle=False), batch_size=1,
                            num_workers=0, collate_fn=dict(type=default_collate)),
        val_cfg=dict(),
        val_evaluator=[CodecMetric()],
        optim_wrapper=optim_wrapper,
        default_hooks=dict(
            checkpoint=dict(type=AtomicCheckpointHook, interval=t.checkpoint_interval, by_epoch=False,
                            max_keep_ckpts=t.max_keep_checkpoints),
            # log_metric_by_epoch=False: validation rows carry the iteration, not epoch 0
            logger=dict(type=LoggerHook, interval=t.log_interval, log_metric_by_epoch=False)),
        custom_hooks=hooks,
        log_processor=dict(by_epoch=False),
        launcher=launcher,
        env_cfg=dict(dist_cfg=dict(backend="nccl" if device == "cuda" else "gloo")),
        randomness=dict(seed=spec.seed),
        resume=resume,
    )

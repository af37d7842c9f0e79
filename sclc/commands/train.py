"""``sclc train``: a spec on mmengine's Runner."""

from __future__ import annotations

from pathlib import Path

from sclc.commands import add_set
from sclc.errors import SclcError


def _train(args) -> int:
    if args.device == "cpu":
        import os

        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before anything initialises CUDA
    from sclc.spec import load_spec
    from sclc.train.runner import build_runner

    spec = load_spec(args.spec, args.set)
    if args.resume and not any(Path(args.work_dir).glob("*.pth")):  # mmengine would start afresh, quietly
        raise SclcError(f"--resume: no checkpoint in {args.work_dir} to continue from")
    runner = build_runner(spec, args.work_dir, resume=args.resume, launcher=args.launcher, device=args.device)
    runner.train()
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="train a spec on mmengine's Runner (CPU, GPU, or DDP via torchrun)")
    p.add_argument("spec")
    p.add_argument("--work-dir", required=True)
    p.add_argument("--resume", action="store_true", help="continue from WORK_DIR's last checkpoint")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="overrides train.device")
    p.add_argument("--launcher", choices=["none", "pytorch"], default="none",
                   help="pytorch: under torchrun, one process per rank (gloo on CPU, nccl on GPU)")
    add_set(p)
    p.set_defaults(func=_train)

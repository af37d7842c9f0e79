"""The ``sclc`` command line. User errors print one line and exit with code 2."""

from __future__ import annotations

import argparse
import json
import sys

from sclc.errors import SclcError


def _cmd_list(args) -> int:
    from sclc.hookspecs import KINDS
    from sclc.registry import default_registry

    registry = default_registry()
    if args.kind and args.kind not in KINDS:
        raise SclcError(f"unknown kind '{args.kind}' — kinds: {', '.join(KINDS)}")
    rows = [{"kind": c.kind, "name": c.name, "provider": c.provider, "plugin": c.plugin,
             "summary": c.summary, "reference": c.reference} for c in registry.components(args.kind)]
    broken = [{"plugin": b.plugin, "provider": b.provider, "error": b.error} for b in registry.broken]
    if args.json:
        print(json.dumps({"components": rows, "broken": broken}, indent=2))
        return 0
    for row in rows:
        print(f"{row['kind']:<11} {row['name']:<17} {row['provider']:<10} {row['summary']}")
    for b in broken:
        print(f"BROKEN      {b['plugin']:<17} {b['provider']:<10} {b['error']}")
    return 0


def _cmd_build(args) -> int:
    from sclc.report import build_report, format_report

    report = build_report(args.spec, args.set, size=args.size)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sclc", description="Learned screen content image compression toolkit")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered components")
    p.add_argument("--kind", help="prior, text_prior, block, backbone or loss")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("build", help="validate a spec, build the model and run one forward pass")
    p.add_argument("spec")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec field, e.g. --set backbone.N=64 (repeatable)")
    p.add_argument("--size", type=int, default=128, help="side of the random test image (default 128)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except SclcError as exc:
        print(f"sclc {args.command}: error: {exc}", file=sys.stderr)
        return 2

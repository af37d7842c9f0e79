"""``sclc list`` (registered components) and ``sclc build`` (a spec's model, checked)."""

from __future__ import annotations

import json

from sclc.commands import add_json, add_set, number_type


def _list(args) -> int:
    from sclc.registry import check_kind, default_registry

    registry = default_registry()
    if args.kind is not None:
        check_kind(args.kind)
    rows = [{"kind": c.kind, "name": c.name, "provider": c.provider, "plugin": c.plugin,
             "summary": c.summary, "reference": c.reference} for c in registry.components(args.kind)]
    broken = [{"plugin": b.plugin, "provider": b.provider, "error": b.error} for b in registry.broken]
    unavailable = [{"kind": u.kind, "name": u.name, "provider": u.provider, "reason": u.reason}
                   for u in registry.unavailable if not args.kind or u.kind == args.kind]
    if args.json:
        print(json.dumps({"components": rows, "unavailable": unavailable, "broken": broken}, indent=2))
        return 0
    for row in rows:
        print(f"{row['kind']:<16} {row['name']:<17} {row['provider']:<10} {row['summary']}")
    for u in unavailable:
        print(f"UNAVAILABLE {u['name']:<22} {u['provider']:<10} {u['reason']}")
    for b in broken:
        print(f"BROKEN      {b['plugin']:<22} {b['provider']:<10} {b['error']}")
    return 0


# One forward pass at 2048^2 already takes gigabytes at the paper's size.
_test_side = number_type(int, lambda v: 1 <= v <= 2048, "a whole number from 1 to 2048")


def _build(args) -> int:
    from sclc.build_summary import build_summary, format_summary

    summary = build_summary(args.spec, args.set, size=args.size)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def add_commands(sub) -> None:
    from sclc.hookspecs import KINDS

    p = sub.add_parser("list", help="list registered components")
    p.add_argument("--kind", help=", ".join(k.name for k in KINDS))
    add_json(p)
    p.set_defaults(func=_list)

    p = sub.add_parser("build", help="validate a spec, build the model and run one forward pass")
    p.add_argument("spec")
    add_set(p)
    p.add_argument("--size", type=_test_side, default=128, help="side of the random test image (default 128, at most 2048)")
    add_json(p)
    p.set_defaults(func=_build)

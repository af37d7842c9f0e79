"""``sclc report``: one self-contained HTML page of a results file (RD plots, BD-rates, crops)."""

from __future__ import annotations

from sclc.commands import non_negative_float


def _report(args) -> int:
    from sclc import html_report
    from sclc.eval.run import read_results

    html_report.write(read_results(args.results), args.out, args.anchor, args.max_cer)
    print(args.out)
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page of a results file: RD plots, BD-rates, crops")
    p.add_argument("results")
    p.add_argument("--out", required=True, help="HTML file")
    p.add_argument("--anchor", help="BD-rate anchor curve (default jpeg, else the first curve)")
    p.add_argument("--max-cer", type=non_negative_float, default=0.05, metavar="C", help="CER that still counts as readable")
    p.set_defaults(func=_report)

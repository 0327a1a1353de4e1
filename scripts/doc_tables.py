"""Number tables in the docs, generated from the evaluation reports committed beside them.

    python scripts/doc_tables.py            # rewrite every marked table in README.md and docs/*.md
    python scripts/doc_tables.py --check    # exit 1, with a diff, when a doc differs from its reports
    python scripts/doc_tables.py --trim RUN/report.json docs/reports/NAME.json   # keep a report's aggregate rows

A table is the text between `<!-- table:NAME [option=value ...] -->` and `<!-- /table:NAME -->`, made from
`docs/reports/NAME.json` (a `report.json` from `colorize compare` or `evaluate`, trimmed to its aggregate rows).
Options: `protocols=256,full` and `models=gray,default` (which rows, in that order), `columns=psnr,dcf` (which
metrics), `labels=default:bundled model` (display names), `bold=best` (each resolution's best value per metric in
bold). Anything else between the markers is replaced, so edit the options, not the table.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "docs" / "reports"
DOCS = ("README.md", "docs/model-card.md")
MARKER = re.compile(r"<!-- table:(?P<name>[\w.-]+)(?P<options>[^>]*?)-->\n(?P<body>.*?)<!-- /table:(?P=name) -->",
                    re.DOTALL)
OPTIONS = ("protocols", "models", "columns", "labels", "bold")


def parse_options(text: str) -> dict[str, str]:
    options = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or key not in OPTIONS:
            raise ValueError(f"table option {item!r}: expected one of {', '.join(o + '=...' for o in OPTIONS)}")
        options[key] = value
    return options


def _split(value: str | None) -> list[str] | None:
    return value.split(",") if value else None


def render_table(report: dict, options: dict[str, str]) -> str:
    """The Markdown table a marker with these options stands for."""
    from colorize.evaluate import metrics_table

    protocols = report["protocols"]
    wanted = _split(options.get("protocols")) or list(protocols)
    names = _split(options.get("models")) or [m["name"] for m in report["models"]]
    missing = [p for p in wanted if p not in protocols] + [
        n for n in names if n not in next(iter(protocols.values()))["metrics"]]
    if missing:
        raise ValueError(f"not in the report: {', '.join(missing)}")
    labels = dict(item.split(":", 1) for item in _split(options.get("labels")) or [])
    bold = options.get("bold", "")
    if bold not in ("", "best"):
        raise ValueError(f"bold={bold}: the only choice is bold=best")
    chosen = {p: {**protocols[p], "metrics": {labels.get(n, n): protocols[p]["metrics"][n] for n in names}}
              for p in wanted}
    return metrics_table(chosen, [labels.get(n, n) for n in names], columns=_split(options.get("columns")),
                         bold_best=bold == "best")


def load_report(name: str, reports: Path) -> dict:
    from colorize.evaluate import load_report as read

    path = reports / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"table:{name} needs {path}")
    return read(path)


def regenerate(text: str, reports: Path = REPORTS) -> str:
    """`text` with every marked table rebuilt from its report."""

    def table(match: re.Match) -> str:
        report = load_report(match["name"], reports)
        body = render_table(report, parse_options(match["options"]))
        return f"<!-- table:{match['name']}{match['options']}-->\n{body}\n<!-- /table:{match['name']} -->"

    return MARKER.sub(table, text)


def trim(source: Path, destination: Path) -> None:
    from colorize.evaluate import trim_report

    report = json.loads(source.read_text())
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(json.dumps(trim_report(report), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {destination}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a doc is out of date")
    parser.add_argument("--trim", nargs=2, type=Path, metavar=("REPORT", "OUT"),
                        help="write REPORT trimmed to its aggregate rows to OUT, then regenerate")
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository whose docs to read")
    args = parser.parse_args(argv)
    if args.trim:
        trim(*args.trim)
    stale = []
    for doc in DOCS:
        path = args.repo / doc
        text = path.read_text()
        fresh = regenerate(text, args.repo / "docs" / "reports")
        if fresh == text:
            continue
        if args.check:
            stale.append(doc)
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), fresh.splitlines(True), doc, doc))
        else:
            path.write_text(fresh)
            print(f"rewrote the tables of {doc}")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python scripts/doc_tables.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

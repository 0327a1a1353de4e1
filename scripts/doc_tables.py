"""Number tables in the docs, generated from the evaluation and benchmark reports committed beside them.

    python scripts/doc_tables.py            # rewrite every marked table in README.md and docs/*.md
    python scripts/doc_tables.py --check    # exit 1, with a diff, when a doc differs from its reports
    python scripts/doc_tables.py --trim RUN/report.json docs/reports/NAME.json   # keep a report's aggregate rows

A table is the text between `<!-- table:NAME [option=value ...] -->` and `<!-- /table:NAME -->`. Anything between
the markers is replaced, so edit the options, not the table. Two kinds of report make tables:

Evaluation reports. `table:NAME` is made from `docs/reports/NAME.json`, a `report.json` from `colorize compare` or
`evaluate` trimmed to its aggregate rows. Options: `protocols=256,full` and `models=gray,default` (which rows, in
that order), `columns=psnr,dcf` (which metrics), `labels=default:bundled model` (display names), `bold=best` (each
resolution's best value per metric in bold).

Benchmark reports, written by the benchmarks' `--json PATH` (`benchmarks/bench_report.py`):

    {"benchmark": "train_throughput", "command": "python benchmarks/train_throughput.py --threads 1 ...",
     "when": "2026-12-01T02:10:00Z", "machine": "cpu model, cores, torch version, load during the run",
     "tables": {"gan": {"columns": ["generator", "step", "img/s", "ratio"], "rows": [["pix2pix_unet", "GAN", 1.8,
     "3.1x"], ...]}}}

`table:REPORT.TABLE` renders table TABLE of `docs/reports/REPORT.json` (`table:REPORT` alone when the report has
one table). Numbers are rounded by the benchmark, to the digits worth showing, before it writes the report; a
column's floats are then printed with as many decimals as the longest of them has in the report (1.8 next to 2.45
prints as 1.80), integers as they are. Strings are printed as they are (Markdown allowed, `|` escaped: "3.09x",
"**2.45**", "407 / 576 MB"), null as an empty cell. Columns whose cells all start with a digit or sign are
right-aligned. Under the table a line names the command, the date and the machine from the report. Options:
`columns=1,2,5` (which columns, in that order, by 1-based position or by a name without spaces or commas),
`source=no` (leave out the line under the table, e.g. for a second table of the same report right below the
first). A report with "tables" is a benchmark report; one without is an evaluation report.
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
OPTIONS = ("protocols", "models", "columns", "labels", "bold", "source")
BENCHMARK_OPTIONS = ("columns", "source")
EVALUATION_OPTIONS = ("protocols", "models", "columns", "labels", "bold")
NUMERIC = re.compile(r"^\**[-+\d.]")


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


def _decimals(value) -> int:
    """Digits after the point of a float as the report writes it (0 for anything else)."""
    if not isinstance(value, float) or value != value or value in (float("inf"), float("-inf")):
        return 0
    text = json.dumps(value)
    return 0 if "e" in text or "." not in text else len(text.split(".")[1])


def _cell(value, decimals: int = 0) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, float) and decimals and "e" not in json.dumps(value):
        return f"{value:.{decimals}f}"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _pick_columns(columns: list[str], wanted: list[str] | None, where: str) -> list[int]:
    if not wanted:
        return list(range(len(columns)))
    picked = []
    for item in wanted:
        if item in columns:
            picked.append(columns.index(item))
        elif item.isdigit() and 1 <= int(item) <= len(columns):
            picked.append(int(item) - 1)
        else:
            raise ValueError(f"{where}: no column {item!r}; columns are 1-{len(columns)}: {', '.join(columns)}")
    return picked


def render_benchmark_table(report: dict, table_name: str | None, options: dict[str, str], where: str = "table") -> str:
    """The Markdown table (and its source line) of one table of a benchmark report."""
    wrong = [key for key in options if key not in BENCHMARK_OPTIONS]
    if wrong:
        raise ValueError(f"{where}: {', '.join(wrong)}= is for evaluation reports; a benchmark report's table takes "
                         f"{', '.join(o + '=...' for o in BENCHMARK_OPTIONS)}")
    tables = report["tables"]
    if table_name is None:
        if len(tables) != 1:
            raise ValueError(f"{where}: the report has {len(tables)} tables, name one as table:REPORT.TABLE with "
                             f"TABLE one of: {', '.join(tables)}")
        table_name = next(iter(tables))
    if table_name not in tables:
        raise ValueError(f"{where}: the report has no table {table_name!r}; its tables: {', '.join(tables) or 'none'}")
    table = tables[table_name]
    columns, rows = table["columns"], table["rows"]
    for number, row in enumerate(rows, 1):
        if len(row) != len(columns):
            raise ValueError(f"{where}: row {number} has {len(row)} cells for {len(columns)} columns")
    picked = _pick_columns(columns, _split(options.get("columns")), where)
    decimals = {i: max([_decimals(row[i]) for row in rows], default=0) for i in picked}
    cells = [[_cell(row[i], decimals[i]) for i in picked] for row in rows]
    right = [bool([r[j] for r in cells if r[j]]) and all(NUMERIC.match(r[j]) for r in cells if r[j])
             for j in range(len(picked))]
    lines = ["| " + " | ".join(_cell(columns[i]) for i in picked) + " |",
             "| " + " | ".join("---:" if r else "---" for r in right) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    source = options.get("source", "yes")
    if source not in ("yes", "no"):
        raise ValueError(f"{where}: source={source}: the choices are source=yes and source=no")
    if source == "yes":
        when = str(report.get("when", "?")).replace("T", " ").replace("Z", " UTC")
        lines += ["", f"<sub>Measured by `{report.get('command', '?')}`, {when}; {report.get('machine', '?')}.</sub>"]
    return "\n".join(lines)


def render_table(report: dict, options: dict[str, str]) -> str:
    """The Markdown table a marker with these options stands for (an evaluation report)."""
    from colorize.evaluate import metrics_table

    wrong = [key for key in options if key not in EVALUATION_OPTIONS]
    if wrong:
        raise ValueError(f"{', '.join(wrong)}= is for benchmark reports; an evaluation report's table takes "
                         f"{', '.join(o + '=...' for o in EVALUATION_OPTIONS)}")

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


def render_marker(name: str, options: dict[str, str], reports: Path = REPORTS) -> str:
    """What `<!-- table:NAME options -->` stands for: NAME is REPORT (an evaluation report, or a benchmark report
    with one table) or REPORT.TABLE (a table of a benchmark report)."""
    report_name, _, table_name = name.partition(".")
    report = load_report(report_name, reports)
    if "tables" in report:
        return render_benchmark_table(report, table_name or None, options, f"table:{name}")
    if table_name:
        raise ValueError(f"table:{name}: {report_name}.json is an evaluation report, it has no named tables "
                         f"(use table:{report_name})")
    return render_table(report, options)


def regenerate(text: str, reports: Path = REPORTS) -> str:
    """`text` with every marked table rebuilt from its report."""

    def table(match: re.Match) -> str:
        body = render_marker(match["name"], parse_options(match["options"]), reports)
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

"""The benchmark report the docs' tables are made from (`scripts/doc_tables.py`), written by `--json PATH`.

    {"benchmark": "train_throughput", "command": "python benchmarks/train_throughput.py --threads 1 ...",
     "when": "2026-12-01T02:10:00Z", "machine": "cpu model, cores, torch version, load during the run",
     "tables": {"gan": {"columns": ["generator", "step", "img/s", "ratio"], "rows": [["pix2pix_unet", "GAN", 1.8,
     "3.1x"]]}}}

Cells are strings, numbers already rounded to the digits worth showing (the docs print a column's floats with as
many decimals as the longest of them has), or null for an empty cell. Only aggregate rows: the report is committed
beside the docs.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's model name and its widest vector extension that matters for torch (bf16 kernels or not)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 platform.machine())
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    for flag, name in (("amx_bf16", "AMX bf16"), ("avx512_bf16", "AVX-512 bf16"), ("avx512f", "AVX-512"),
                       ("avx2", "AVX2")):
        if flag in flags:
            return f"{model} with {name}"
    return model


def command_line() -> str:
    """How this benchmark was started, as a reader would type it from the repository root (without the note)."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(REPO)
    except ValueError:
        pass
    args, skip = [], False
    for arg in sys.argv[1:]:  # the machine note is in the report's "machine" field, not part of the command
        if skip or arg.startswith("--machine-note="):
            skip = False
            continue
        skip = arg == "--machine-note"
        if not skip:
            args.append(arg)
    return shlex.join(["python", str(script), *args])


def _busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (/proc/stat), or None where there is no /proc."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Report:
    """Collects a benchmark's tables. `machine()` names the CPU and notes the load average at the start and at
    `write` time and how much CPU other processes used meanwhile (unless the note already says: serve_load.py
    measures that itself, its server being a process of its own), then the note."""

    def __init__(self, benchmark: str, threads: int, note: str = ""):
        import torch

        self.benchmark = benchmark
        self.command = command_line()
        self.when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.load_before = os.getloadavg()[0]
        self.start = (time.monotonic(), _busy_seconds(), _own_seconds())
        self.threads = threads
        self.note = note
        self.torch = torch.__version__
        self.tables: dict[str, dict] = {}

    def table(self, name: str, columns: list[str], rows: list[list]) -> None:
        if any(len(row) != len(columns) for row in rows):
            raise ValueError(f"table {name}: every row needs {len(columns)} cells")
        self.tables[name] = {"columns": list(columns), "rows": [list(row) for row in rows]}

    def machine(self) -> str:
        text = (f"{cpu_model()}, {os.cpu_count()} cores, torch {self.torch}, {self.threads} thread(s); load average "
                f"{self.load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
        wall, busy, own = self.start
        busy_now, wall = _busy_seconds(), time.monotonic() - wall
        if busy is not None and busy_now is not None and wall > 0 and "other processes used" not in self.note:
            others = max(0.0, (busy_now - busy) - (_own_seconds() - own)) / wall
            text += f"; other processes used {others:.2f} of the {os.cpu_count()} cores during the run"
        return f"{text}; {self.note}" if self.note else text

    def write(self, path: Path | None) -> None:
        if path is None:
            return
        report = {"benchmark": self.benchmark, "command": self.command, "when": self.when,
                  "machine": self.machine(), "tables": self.tables}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(report))
        print(f"wrote {path}")


def dumps(report: dict) -> str:
    """JSON with one line per field, column list and row: small diffs when a benchmark is re-run."""

    def one(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{"]
    head = [f" {one(k)}: {one(v)}" for k, v in report.items() if k != "tables"]
    tables = []
    for name, table in report.get("tables", {}).items():
        rows = "[\n" + ",\n".join(f"    {one(row)}" for row in table["rows"]) + "\n  ]" if table["rows"] else "[]"
        tables.append(f"  {one(name)}: {{\"columns\": {one(table['columns'])}, \"rows\": {rows}}}")
    lines.append(",\n".join(head + [' "tables": {\n' + ",\n".join(tables) + "\n }"]))
    lines.append("}")
    return "\n".join(lines) + "\n"


def add_arguments(parser) -> None:
    """--json PATH and --machine-note TEXT, the same in every benchmark."""
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the tables as a benchmark report (docs/reports/NAME.json for the docs)")
    parser.add_argument("--machine-note", default="", metavar="TEXT",
                        help="added to the report's machine field, e.g. 'shared with a training run'")

"""Load test of the web app: concurrent clients posting 1-megapixel photos to `colorize serve` on 127.0.0.1.

    python benchmarks/serve_load.py                          # 16 clients, 60 s, the bundled default model
    python benchmarks/serve_load.py --queue-size 4 --retry now   # a small queue, clients that retry at once
    python benchmarks/serve_load.py --seconds 20 --checkpoint runs/x/generator.safetensors --workers 2

Starts the server as a subprocess (own temporary storage and SQLite database; the per-client rate limits off
unless --rate-limits, since every client here shares one address), runs the clients for --seconds, then prints
requests/s, p50/p95 latency, every answer by status, connection resets and other transport errors, answers
without Retry-After, and the server's peak resident memory. Each client is its own browser (owner cookie + CSRF
header). --retry after: a client told 429/503 waits for Retry-After, as a well-behaved client would; --retry now:
it asks again at once. Then --oversize-clients clients post a --oversize-mb body at once (the upload limit is
20 MB): each must get a 413 response, not a reset. Exit code 1 when anything other than 2xx, 413 (oversize phase),
or 429/503 with Retry-After came back. Every request goes to 127.0.0.1 only; the run is bounded by --seconds plus
one request timeout. Photos come from --data (relative to the repository root), scaled to --megapixels and turned
gray; synthetic ones if the folder is missing.

It also prints the CPU time per completed result of the server and of the clients (this script), and how many
cores everything else on the machine used meanwhile: on a shared machine, results/s says little without it.
--json PATH writes the run as a row of a benchmark report (benchmarks/bench_report.py; README's web table comes
from docs/reports/serve-load.json); a row with other settings already in that file is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
import signal
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import bench_report

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_photos(data: Path, count: int, megapixels: float) -> list[bytes]:
    """Gray JPEGs of about `megapixels`: real photos scaled up or down, or synthetic ones."""
    files = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg")) if data.is_dir() else []
    photos = []
    rng = np.random.default_rng(0)
    for i in range(count):
        if files:
            img = Image.open(files[i * 7 % len(files)]).convert("L")
        else:
            yy, xx = np.mgrid[0:480, 0:640]
            base = 128 + 100 * np.sin(xx / rng.uniform(20, 80)) * np.cos(yy / rng.uniform(20, 80))
            img = Image.fromarray(np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8))
        scale = (megapixels * 1e6 / (img.width * img.height)) ** 0.5
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=90)
        photos.append(buf.getvalue())
    return photos


def rss_mb(pid: int, field: str) -> float:
    """VmRSS (current) or VmHWM (peak) of a process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores; idle and iowait excluded), from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    guest = sum(values[8:10])  # already counted in user and nice
    return (sum(values) - idle - guest) / os.sysconf("SC_CLK_TCK")


def start_server(args, storage: Path, port: int, log) -> subprocess.Popen:
    command = [sys.executable, "-c", "import sys; from colorize.cli import main; sys.exit(main())", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--storage", str(storage),
               "--queue-size", str(args.queue_size), "--workers", str(args.workers)]
    if not args.rate_limits:
        command += ["--uploads-per-minute", "0", "--ratings-per-minute", "0", "--votes-per-minute", "0"]
    for checkpoint in args.checkpoint or []:
        command += ["--checkpoint", checkpoint]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(proc: subprocess.Popen, url: str, log_path: Path, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-5:])
            raise SystemExit(f"the server exited with code {proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not start in time")


def browser_session(http) -> None:
    """Make an httpx client one browser: its owner cookie, and the CSRF header the API wants on POSTs."""
    http.headers["X-CSRF-Token"] = http.get("/api/session").json()["csrf_token"]


def run_clients(url: str, photos: list[bytes], clients: int, seconds: float, retry_now: bool) -> dict:
    import httpx

    latencies: list[float] = []
    model_seconds: list[float] = []
    counts = {"ok": 0, "refused": 0, "errors": 0, "no_retry_after": 0}
    statuses: dict[str, int] = {}
    error_kinds: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as http:
            browser_session(http)
            n = index
            while time.monotonic() < deadline:
                photo = photos[n % len(photos)]
                n += clients
                start = time.monotonic()
                try:
                    response = http.post("/api/results", files={"file": (f"p{n}.jpg", photo, "image/jpeg")})
                except httpx.HTTPError as exc:  # resets and other transport failures
                    with lock:
                        counts["errors"] += 1
                        error_kinds[type(exc).__name__] = error_kinds.get(type(exc).__name__, 0) + 1
                    continue
                elapsed = time.monotonic() - start
                code = response.status_code
                retry_after = response.headers.get("retry-after")
                with lock:
                    statuses[str(code)] = statuses.get(str(code), 0) + 1
                    if code == 201:
                        counts["ok"] += 1
                        latencies.append(elapsed)
                        model_seconds.append(response.json()["seconds"])
                    elif code in (429, 503):
                        counts["refused"] += 1
                        counts["no_retry_after"] += retry_after is None
                    else:
                        counts["errors"] += 1
                        error_kinds[f"HTTP {code}"] = error_kinds.get(f"HTTP {code}", 0) + 1
                if code in (429, 503) and not retry_now:
                    wait = float(retry_after or "1")
                    time.sleep(max(0.0, min(wait, deadline - time.monotonic())))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT + 10)
    wall = time.monotonic() - started
    return {"latencies": latencies, "model_seconds": model_seconds, "wall": wall, "error_kinds": error_kinds,
            "statuses": statuses, **counts}


def post_oversize(url: str, clients: int, megabytes: float) -> dict[str, int]:
    """`clients` async clients at once, each posting a `megabytes` body: answers by status, or by exception."""
    import httpx

    body = b"\xff\xd8" + b"\x00" * int(megabytes * 1024 * 1024)

    async def one() -> str:
        async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as http:
            try:
                response = await http.post("/api/results", files={"file": ("big.jpg", body, "image/jpeg")})
            except httpx.HTTPError as exc:
                return type(exc).__name__
            return str(response.status_code)

    async def all_at_once() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(clients)))

    outcomes: dict[str, int] = {}
    for outcome in asyncio.run(all_at_once()):
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


COLUMNS = ["queue", "workers", "clients", "retry", "rate limits", "results/s", "p50 s", "p95 s", "completed",
           "refused", "errors", "oversize posts", "server CPU ms/result", "peak MB"]


def write_report(report: bench_report.Report, args, rate: float, lat: list[float], stats: dict, oversize: dict,
                 peak: float, server_ms: float, others: float) -> None:
    """Add this run as a row of table `args.table` in the report at `args.json`; rows of the report with other
    settings stay (so one file can hold e.g. the default run and a small-queue run), each with its command."""
    settings = [args.queue_size, args.workers, args.clients, args.retry, "on" if args.rate_limits else "off"]
    answers = ", ".join(f"{n} x {status}" for status, n in sorted(oversize.items())) or None
    row = settings + [round(rate, 2), round(percentile(lat, 50), 2), round(percentile(lat, 95), 2), stats["ok"],
                      stats["refused"], stats["errors"], answers, round(server_ms), round(peak)]
    report.note = (f"{args.seconds:g} s of {args.megapixels:g} MP gray JPEGs; meanwhile other processes used "
                   f"{others:.2f} of the {os.cpu_count()} cores" + (f"; {args.machine_note}" if args.machine_note
                                                                    else ""))
    rows = [row]
    commands = [report.command]
    if args.json.is_file():
        old = json.loads(args.json.read_text())
        table = old.get("tables", {}).get(args.table)
        if old.get("benchmark") == "serve_load" and table and table["columns"] == COLUMNS:
            kept = [r for r in table["rows"] if r[:len(settings)] != settings]
            rows = kept + rows
            commands = [c for c in old.get("command", "").split(" ; ") if c and c != report.command] + commands
    report.command = " ; ".join(commands)
    report.table(args.table, COLUMNS, rows)
    report.write(args.json)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients keep posting")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--megapixels", type=float, default=1.0, help="size of each posted photo")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/imagenet-sample/train"),
                        help="folder of JPEG photos, relative to the repository root")
    parser.add_argument("--checkpoint", action="append", help="model(s) to serve; default: the bundled model")
    parser.add_argument("--workers", type=int, default=2, help="the server's inference worker threads")
    parser.add_argument("--queue-size", type=int, default=32, help="the server's job queue size")
    parser.add_argument("--retry", choices=("after", "now"), default="after",
                        help="after a 429/503: wait for Retry-After, or ask again at once")
    parser.add_argument("--rate-limits", action="store_true", help="keep the server's per-client rate limits on")
    parser.add_argument("--oversize-clients", type=int, default=6, help="clients posting an oversize body at once")
    parser.add_argument("--oversize-mb", type=float, default=25.0, help="size of each oversize body")
    parser.add_argument("--table", default="web", help="name of the table in the --json report")
    bench_report.add_arguments(parser)
    args = parser.parse_args()

    # Made now: the report's time and first load average are the run's start (it imports torch: only with --json).
    report = (bench_report.Report("serve_load", threads=max(1, (os.cpu_count() or 1) // args.workers))
              if args.json else None)
    data = args.data if args.data.is_absolute() else (REPO / args.data).resolve()
    photos = make_photos(data, 24, args.megapixels)
    sizes = [Image.open(io.BytesIO(p)).size for p in photos]
    print(f"photos: {len(photos)} gray JPEGs of ~{args.megapixels:g} MP (e.g. {sizes[0][0]}x{sizes[0][1]}, "
          f"{np.mean([len(p) for p in photos]) / 1024:.0f} KB) from "
          f"{data if data.is_dir() else 'a synthetic generator'}")

    storage = Path(tempfile.mkdtemp(prefix="colorize-load-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = storage.parent / f"{storage.name}.log"
    with log_path.open("wb") as log:
        proc = start_server(args, storage, port, log)
        try:
            wait_ready(proc, url, log_path)
            idle_rss = rss_mb(proc.pid, "VmRSS")
            peak_sampled = idle_rss
            sampler_stop = threading.Event()

            def sample() -> None:
                nonlocal peak_sampled
                while not sampler_stop.wait(0.25):
                    peak_sampled = max(peak_sampled, rss_mb(proc.pid, "VmRSS"))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            print(f"server: {url}, workers {args.workers}, queue {args.queue_size}, idle RSS {idle_rss:.0f} MB; "
                  f"{args.clients} clients for {args.seconds:g} s, retry {args.retry} ...", flush=True)
            cpu_before = (cpu_seconds(proc.pid), time.process_time(), machine_busy_seconds(), time.monotonic())
            stats = run_clients(url, photos, args.clients, args.seconds, retry_now=args.retry == "now")
            cpu_after = (cpu_seconds(proc.pid), time.process_time(), machine_busy_seconds(), time.monotonic())
            oversize = post_oversize(url, args.oversize_clients, args.oversize_mb) if args.oversize_clients else {}
            sampler_stop.set()
            peak = rss_mb(proc.pid, "VmHWM")
            final_rss = rss_mb(proc.pid, "VmRSS")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            shutil.rmtree(storage, ignore_errors=True)
            log_path.unlink(missing_ok=True)

    lat = stats["latencies"]
    server_cpu, client_cpu, busy, wall = (after - before for after, before in zip(cpu_after, cpu_before))
    others = max(0.0, busy - server_cpu - client_cpu) / wall  # cores used by everything else on the machine
    per_result = 1000 / max(1, stats["ok"])
    rate = stats["ok"] / stats["wall"]
    print(f"completed: {stats['ok']} colorizations in {stats['wall']:.1f} s = {rate:.2f} req/s")
    print(f"latency: p50 {percentile(lat, 50):.2f} s, p95 {percentile(lat, 95):.2f} s, max {max(lat, default=0):.2f} s "
          f"(model time per photo: median {statistics.median(stats['model_seconds'] or [0]):.2f} s)")
    print(f"answers by status: {dict(sorted(stats['statuses'].items()))}")
    print(f"refused (429/503): {stats['refused']}, of which without Retry-After: {stats['no_retry_after']}")
    print(f"errors (resets, transport failures, other statuses): {stats['errors']} {stats['error_kinds'] or ''}"
          .rstrip())
    if oversize:
        print(f"oversize: {args.oversize_clients} clients x {args.oversize_mb:g} MB at once -> {oversize}")
    print(f"server memory: idle {idle_rss:.0f} MB, peak {peak:.0f} MB (VmHWM; sampled max {peak_sampled:.0f} MB), "
          f"after the run {final_rss:.0f} MB")
    print(f"CPU per completed result: server {server_cpu * per_result:.0f} ms, clients {client_cpu * per_result:.0f} ms; "
          f"the server used {server_cpu / wall:.2f} cores, the clients {client_cpu / wall:.2f}, everything else on "
          f"the machine {others:.2f} (of {os.cpu_count()})")
    if args.json:
        write_report(report, args, rate, lat, stats, oversize, peak, server_cpu * per_result, others)
    clean_oversize = set(oversize) <= {"413"}
    return 1 if stats["errors"] or stats["no_retry_after"] or not clean_oversize else 0


if __name__ == "__main__":
    sys.exit(main())

"""How much latency the inter-region link emulator adds on top of the delay it is asked for.

Runs, on loopback only, an echo server and a sink (separate process), the link (separate process, its real
CLI) in front of them, and drives the drill's load shape from this process: CLIENTS connections doing
open-loop request/response round trips of MESSAGE-byte messages at a combined RATE per second, plus one bulk
stream (like WAL streaming) to the sink. Three phases: direct to the echo server, through the link at delay
0, through the link at DELAY_MS. The link's own overhead is the measured round trip minus 2 x the delay.

    .venv/bin/python bench/link_overhead.py [--seconds 10]

Prints a summary and writes bench/results-link.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nexus_platform.world.local.link import LinkConfig, LinkControl  # noqa: E402
from nexus_platform.world.local.processes import free_port  # noqa: E402

DELAY_MS = 35.0
CLIENTS = 8
RATE = 500.0  # round trips per second, all clients together
MESSAGE = 200
BULK_BYTES_PER_S = 4_000_000
BULK_CHUNK = 64 * 1024


# --- the upstream side (run in its own process so it does not share this process's event loop) ----------
async def serve(echo_port: int, sink_port: int) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1 << 20):
            pass
        writer.close()

    await asyncio.start_server(echo, "127.0.0.1", echo_port)
    await asyncio.start_server(sink, "127.0.0.1", sink_port)
    await asyncio.Event().wait()


# --- the load ------------------------------------------------------------------------------------------
async def rpc_client(port: int, seconds: float, offset: float, rtts: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent: list[float] = []
    interval = CLIENTS / RATE
    loop = asyncio.get_running_loop()
    start = loop.time() + offset
    count = int(seconds / interval)

    async def receive() -> None:
        for i in range(count):
            data = await reader.readexactly(MESSAGE)
            now = time.perf_counter()
            assert struct.unpack_from("!Q", data)[0] == i, "echo out of order"
            rtts.append(now - sent[i])

    receiver = asyncio.create_task(receive())
    for i in range(count):  # open loop: send on schedule whether or not answers came back
        await asyncio.sleep(max(0.0, start + i * interval - loop.time()))
        sent.append(time.perf_counter())
        writer.write(struct.pack("!Q", i) + b"x" * (MESSAGE - 8))
    await asyncio.wait_for(receiver, timeout=10)
    writer.close()


async def bulk_stream(port: int, seconds: float) -> int:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk, sent = b"w" * BULK_CHUNK, 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    while (elapsed := loop.time() - start) < seconds:
        if sent < elapsed * BULK_BYTES_PER_S:
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()
        else:
            await asyncio.sleep(BULK_CHUNK / BULK_BYTES_PER_S / 2)
    writer.close()
    return sent


def timer_lateness_ms(samples: int = 300, wait: float = 0.003) -> dict[str, float]:
    """How late this machine wakes a process when its select() timeout expires: the floor under each hop."""
    late = []
    for _ in range(samples):
        start = time.perf_counter()
        select.select([], [], [], wait)
        late.append((time.perf_counter() - start - wait) * 1000)
    late.sort()
    return {
        "p50": round(late[samples // 2], 3),
        "p99": round(late[int(samples * 0.99)], 3),
        "max": round(late[-1], 3),
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def phase(
    name: str, rpc_port: int, bulk_port: int, seconds: float, link_pid: int | None
) -> dict[str, Any]:
    rtts: list[float] = []
    cpu = cpu_seconds(link_pid) if link_pid else 0.0
    clients = [rpc_client(rpc_port, seconds, i * (CLIENTS / RATE) / CLIENTS, rtts) for i in range(CLIENTS)]
    bulk = asyncio.create_task(bulk_stream(bulk_port, seconds))
    await asyncio.gather(*clients)
    bulk_bytes = await bulk
    ms = sorted(r * 1000 for r in rtts)

    def pick(quantile: float) -> float:
        return ms[min(len(ms) - 1, int(quantile * len(ms)))]

    out = {
        "phase": name,
        "round_trips": len(ms),
        "round_trips_per_s": round(len(ms) / seconds, 1),
        "bulk_mb_per_s": round(bulk_bytes / seconds / 1e6, 2),
        "rtt_ms": {"p50": pick(0.5), "p99": pick(0.99), "max": ms[-1], "mean": statistics.fmean(ms)},
    }
    if link_pid:
        out["link_cpu_percent"] = round(100 * (cpu_seconds(link_pid) - cpu) / seconds, 1)
    return out


def overhead(result: dict[str, Any], delay_ms: float) -> dict[str, float]:
    return {k: round(v - 2 * delay_ms, 3) for k, v in result["rtt_ms"].items() if k != "mean"}


async def run(seconds: float) -> dict[str, Any]:
    echo_port, sink_port, control_port, rpc_port, bulk_port = (free_port() for _ in range(5))
    config = LinkConfig.from_dict(
        {
            "control": {"host": "127.0.0.1", "port": control_port},
            "delay_ms": 0.0,
            "routes": [
                {
                    "name": "rpc",
                    "listen": {"host": "127.0.0.1", "port": rpc_port},
                    "upstream": {"host": "127.0.0.1", "port": echo_port},
                },
                {
                    "name": "bulk",
                    "listen": {"host": "127.0.0.1", "port": bulk_port},
                    "upstream": {"host": "127.0.0.1", "port": sink_port},
                },
            ],
        }
    )
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "link.json"
        path.write_text(json.dumps(config.to_dict()))
        env = {**os.environ, "NEXUS_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT / "src")}
        try:
            procs.append(
                subprocess.Popen([sys.executable, __file__, "--serve", str(echo_port), str(sink_port)])
            )
            link = subprocess.Popen(
                [sys.executable, "-m", "nexus_platform.world.local.link", "--config", str(path)], env=env
            )
            procs.append(link)
            control = LinkControl("127.0.0.1", control_port)
            for _ in range(100):
                try:
                    control.state()
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            results = [await phase("direct", echo_port, sink_port, seconds / 2, None)]
            results.append(await phase("link, delay 0", rpc_port, bulk_port, seconds / 2, link.pid))
            control.set_delay(DELAY_MS)
            results.append(
                await phase(f"link, delay {DELAY_MS:g} ms", rpc_port, bulk_port, seconds, link.pid)
            )
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    direct, zero, delayed = results
    return {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "timer_lateness_ms": timer_lateness_ms(),
        },
        "load": {
            "clients": CLIENTS,
            "round_trips_per_s": RATE,
            "message_bytes": MESSAGE,
            "bulk_bytes_per_s": BULK_BYTES_PER_S,
        },
        "phases": results,
        "overhead_ms": {
            f"delay {DELAY_MS:g} ms: rtt - 2*delay": overhead(delayed, DELAY_MS),
            "delay 0: rtt": overhead(zero, 0.0),
            "direct (no link): rtt": overhead(direct, 0.0),
            "delay 0 minus direct, p50": round(zero["rtt_ms"]["p50"] - direct["rtt_ms"]["p50"], 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the delayed phase")
    parser.add_argument(
        "--serve", nargs=2, type=int, metavar=("ECHO_PORT", "SINK_PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(*args.serve))
        return
    report = asyncio.run(asyncio.wait_for(run(args.seconds), timeout=args.seconds * 3 + 60))
    for result in report["phases"]:
        rtt = result["rtt_ms"]
        extra = f", link CPU {result['link_cpu_percent']}%" if "link_cpu_percent" in result else ""
        print(
            f"{result['phase']:<18} {result['round_trips']:>5} round trips "
            f"({result['round_trips_per_s']}/s), "
            f"bulk {result['bulk_mb_per_s']} MB/s{extra}: RTT p50 {rtt['p50']:.3f} p99 {rtt['p99']:.3f} "
            f"max {rtt['max']:.3f} ms"
        )
    late = report["machine"]["timer_lateness_ms"]
    print(f"machine floor: a select() timeout wakes up late by p50 {late['p50']} p99 {late['p99']} ms")
    for name, value in report["overhead_ms"].items():
        text = value if isinstance(value, float) else ", ".join(f"{k} {v:.3f}" for k, v in value.items())
        print(f"overhead, {name}: {text} ms")
    out = Path(__file__).with_name("results-link.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

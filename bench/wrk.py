#!/usr/bin/env python3
"""Runs wrk once and prints one JSON line: throughput, p50/p99 latency, the CPU time spent by
wrk and (given its pid) by the server per request, and how many connections were opened.

usage: bench/wrk.py URL CONNECTIONS SECONDS [--script FILE] [--server-pid PID] [--extra JSON]

WRK_THREADS sets wrk's threads (default 2).

The CPU figures show how the two cores were shared: wrk and the server run on the same
machine. wrk's figure is the user and system time of its process (rusage of the child), which
includes kernel network work done in its context; the server's is read from /proc/PID/stat
before and after.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys


def server_ticks(pid):
    if pid is None:
        return None
    with open(f"/proc/{pid}/stat") as f:
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def tcp_opens():
    """Connections accepted on this machine so far (Tcp PassiveOpens in /proc/net/snmp)."""
    with open("/proc/net/snmp") as f:
        header, values = [line.split() for line in f if line.startswith("Tcp:")][:2]
    return int(values[header.index("PassiveOpens")])


def ms(value):
    n, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return round(float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("connections", type=int)
    ap.add_argument("seconds", type=int)
    ap.add_argument("--script")
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--extra", default="{}", help="JSON object merged into the output")
    args = ap.parse_args()

    # Two wrk threads by default, as every recorded round used; WRK_THREADS=1 leaves the
    # server more of the two cores (BENCHMARKS.md measures the difference).
    threads = os.environ.get("WRK_THREADS", "2")
    cmd = ["wrk", f"-t{threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    if args.script:
        cmd += ["-s", args.script]
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_server = server_ticks(args.server_pid)
    before_opens = tcp_opens()
    text = subprocess.run(cmd + [args.url], check=True, capture_output=True, text=True).stdout
    after_server = server_ticks(args.server_pid)
    opens = tcp_opens() - before_opens
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)

    requests = int(re.search(r"(\d+) requests in", text).group(1))
    p = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    wrk_cpu_s = (after_children.ru_utime + after_children.ru_stime) - (
        before_children.ru_utime + before_children.ru_stime)
    result = {
        "connections": args.connections,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": ms(p["50"]),
        "p99_ms": ms(p["99"]),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "wrk_cpu_us_per_request": round(wrk_cpu_s * 1e6 / max(1, requests), 1),
        # wrk holds its connections open: more than one per connection means the server
        # closed them, and the run measured TCP set-up rather than answers.
        "connections_opened": opens,
    }
    if before_server is not None:
        server_s = (after_server - before_server) / os.sysconf("SC_CLK_TCK")
        result["server_cpu_us_per_request"] = round(server_s * 1e6 / max(1, requests), 1)
    result.update(json.loads(args.extra))
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())

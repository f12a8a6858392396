#!/usr/bin/env python3
"""Runs one measured load window for bench/run and prints one JSON object.

    window.py --pid PID [--db-pids 1,2,3] -- wrk ARGS...

Reads the server's CPU ticks (and the whole machine's, from /proc/stat, so that
other processes competing for the cores show up) (utime + stime of /proc/PID/stat, and of the database's
processes when given) before and after the command, and the command's own CPU time
(the load generator shares the machine with the server). The command's stdout must
hold a line "BENCHJSON {...}" (bench/driver/wrk_common.lua writes it); its fields are
merged into the answer.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def machine_busy():
    """Busy clock ticks of the whole machine (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle


def many(pids):
    return {pid: ticks(pid) for pid in pids}


def delta(before, after):
    return sum(after[p] - before[p] for p in before
               if before[p] is not None and after.get(p) is not None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--db-pids", default="")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    db = [int(p) for p in args.db_pids.split(",") if p]
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0, d0, m0, t0 = ticks(args.pid), many(db), machine_busy(), time.time()
    proc = subprocess.run(command, capture_output=True, text=True)
    s1, d1, m1, t1 = ticks(args.pid), many(db), machine_busy(), time.time()
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = None
    for line in proc.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            out = json.loads(line[len("BENCHJSON "):])
    if proc.returncode != 0 or out is None:
        sys.stderr.write(proc.stdout + proc.stderr)
        print(f"error: load generator failed (status {proc.returncode})", file=sys.stderr)
        sys.exit(1)
    out.update({
        "server_ticks": s1 - s0,
        "db_ticks": delta(d0, d1) if db else None,
        "driver_cpu_s": (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime),
        "wall_s": t1 - t0,
        "machine_ticks": m1 - m0,
        "clk_tck": os.sysconf("SC_CLK_TCK"),
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()

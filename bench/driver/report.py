#!/usr/bin/env python3
"""Turns bench/run's raw measurements into the results JSON, the ratio chart (SVG)
and BENCHMARKS.md, and prints the table.

    report.py --raw DIR --json OUT.json [--svg OUT.svg] [--markdown BENCHMARKS.md]
"""

import argparse
import collections
import html
import json
import math
import os
import re

SCENARIOS = [
    ("a_client_credentials", "(a) client_credentials", "POST /token, client_secret_basic, ES256 JWT"),
    ("b_jwks", "(b) JWKS", "GET the jwks_uri"),
    ("c_discovery", "(c) discovery", "GET /.well-known/openid-configuration"),
    ("d_introspection", "(d) introspection", "POST introspection of a valid user access token"),
    ("e_refresh", "(e) refresh + rotation", "POST /token refresh_token, each answer rotates"),
    ("f_flows_fresh", "(f) code+PKCE, new browser", "full flow: authorize, login (password), consent, code at /token"),
    ("g_flows_session", "(g) code+PKCE, signed in", "authorize with a session and remembered consent, code at /token"),
]
SERVERS = [("portcullis_sqlite", "Portcullis (SQLite)"), ("peer", "oidc-provider"),
           ("portcullis_postgres", "Portcullis (Postgres)")]
TARGETS = {
    # key: (min rate ratio, max CPU ratio, note)
    "a_client_credentials": (5, 1 / 8, "≥5× rate, ≤1/8 CPU/request, p99 < 5 ms"),
    "b_jwks": (5, None, "≥5× rate"),
    "c_discovery": (5, None, "≥5× rate"),
    "d_introspection": (5, None, "≥5× rate"),
    "e_refresh": (3, None, "≥3× rate"),
    "g_flows_session": (1.5, 1 / 2, "≥1.5× rate, ≤1/2 CPU/flow"),
}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def metrics(raw):
    """One scenario's numbers, the same shape for wrk windows and flow runs."""
    if raw is None:
        return None
    tck = raw.get("clk_tck", 100)
    if "requests" in raw:  # wrk
        secs = raw["duration_us"] / 1e6
        n = raw["requests"]
        errors = (raw["status_errors"] + raw["bad_bodies"] + raw["connect_errors"]
                  + raw["read_errors"] + raw["write_errors"] + raw["timeouts"])
        ok = n - raw["status_errors"] - raw["bad_bodies"]
        out = {"requests": n, "ok": ok, "rate": ok / secs, "p50_ms": raw["p50_us"] / 1000,
               "p99_ms": raw["p99_us"] / 1000, "errors": errors, "seconds": secs}
        if "live_chains" in raw:
            out["live_chains_after"] = raw["live_chains"]
    else:  # flows.py
        secs = raw["duration_s"]
        n = raw["flows"]
        out = {"requests": n, "ok": n, "rate": raw["rate"], "p50_ms": raw["p50_ms"],
               "p99_ms": raw["p99_ms"], "errors": raw["errors"], "seconds": secs,
               "warmup_errors": raw.get("warmup_errors", 0),
               "error_samples": raw.get("error_samples", [])}
    server_s = raw.get("server_ticks", 0) / tck
    out["server_cpu_s"] = server_s
    out["server_cpu_ms_per_req"] = server_s * 1000 / n if n else None
    out["server_cores_busy"] = server_s / secs if secs else None
    if raw.get("db_ticks") is not None:
        db_s = raw["db_ticks"] / tck
        out["db_cpu_s"] = db_s
        out["db_cpu_ms_per_req"] = db_s * 1000 / n if n else None
    out["driver_cpu_s"] = raw.get("driver_cpu_s")
    if raw.get("machine_ticks") is not None:
        # Everything else that ran on the machine in the window: the rest of the
        # system, and anything another user started (it competes for the cores).
        other = raw["machine_ticks"] / tck - server_s - out.get("db_cpu_s", 0) - (raw.get("driver_cpu_s") or 0)
        out["machine_cores_busy"] = raw["machine_ticks"] / tck / secs if secs else None
        out["other_cores_busy"] = max(0.0, other / secs) if secs else None
    out["driver_cores_busy"] = raw["driver_cpu_s"] / secs if raw.get("driver_cpu_s") is not None and secs else None
    return out


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, digits=1, unit=""):
    if x is None:
        return "–"
    if isinstance(x, (int,)) or (isinstance(x, float) and abs(x) >= 1000):
        return f"{x:,.0f}{unit}"
    return f"{x:.{digits}f}{unit}"


def fmt_ratio(x):
    if x is None:
        return "–"
    if x >= 10:
        return f"{x:.0f}×"
    if x >= 1:
        return f"{x:.1f}×"
    return f"{x:.2f}×"


def build(raw_dir):
    meta = load(os.path.join(raw_dir, "meta.json")) or {}
    servers = {}
    for key, name in SERVERS:
        d = os.path.join(raw_dir, key)
        if not os.path.isdir(d):
            continue
        s = {"name": name, "scenarios": {}}
        for sc, _, _ in SCENARIOS:
            m = metrics(load(os.path.join(d, sc + ".json")))
            if m:
                s["scenarios"][sc] = m
        ceiling = metrics(load(os.path.join(d, "argon2_ceiling.json")))
        if ceiling:
            s["argon2_ceiling"] = ceiling
        log_errors = load(os.path.join(d, "log-errors.json"))
        if log_errors:
            s["server_log_errors"] = log_errors
        idle, end = load(os.path.join(d, "memory-idle.json")), load(os.path.join(d, "memory-end.json"))
        if idle and end:
            s["memory"] = {"idle_rss_mib": idle["rss_kib"] / 1024,
                           "after_load_rss_mib": end["rss_kib"] / 1024,
                           "peak_rss_mib": end["hwm_kib"] / 1024}
        servers[key] = s

    ratios = {}
    p, q = servers.get("portcullis_sqlite"), servers.get("peer")
    pg = servers.get("portcullis_postgres")
    for sc, _, _ in SCENARIOS:
        r = {}
        for label, mine in (("sqlite", p), ("postgres", pg)):
            a = mine and mine["scenarios"].get(sc)
            b = q and q["scenarios"].get(sc)
            if a and b:
                r[label] = {
                    "rate_ratio": ratio(a["rate"], b["rate"]),
                    "cpu_per_request_ratio": ratio(a["server_cpu_ms_per_req"], b["server_cpu_ms_per_req"]),
                }
        ratios[sc] = r

    # The argon2 ceiling: password checks per second the server manages when doing
    # nothing else (measured over HTTP; the in-process figure from bench_costs too).
    costs = load(os.path.join(raw_dir, "costs.json"))
    ceiling = None
    if p and "argon2_ceiling" in p:
        ceiling = p["argon2_ceiling"]["rate"]
    in_process = None
    if costs and costs.get("argon2_verify_ms"):
        in_process = (meta.get("machine", {}).get("nproc") or os.cpu_count()) * 1000 / costs["argon2_verify_ms"]

    targets = []

    def add(name, goal, value, met):
        targets.append({"target": name, "goal": goal, "value": value, "met": met})

    for sc, label, _ in SCENARIOS:
        if sc not in TARGETS:
            continue
        min_rate, max_cpu, note = TARGETS[sc]
        r = ratios.get(sc, {}).get("sqlite")
        if not r:
            add(label, note, "not measured", None)
            continue
        met = r["rate_ratio"] is not None and r["rate_ratio"] >= min_rate
        value = f"{fmt_ratio(r['rate_ratio'])} rate"
        if max_cpu is not None:
            c = r["cpu_per_request_ratio"]
            met = met and c is not None and c <= max_cpu
            value += f", {fmt_ratio(c)} CPU/request (1/{1 / c:.1f})" if c else ", CPU –"
        if sc == "a_client_credentials":
            p99 = p["scenarios"][sc]["p99_ms"]
            met = met and p99 < 5
            value += f", p99 {p99:.2f} ms"
        add(label, note, value, met)
    f = p and p["scenarios"].get("f_flows_fresh")
    if f and ceiling:
        share = f["rate"] / ceiling
        add("(f) code+PKCE, new browser", "≥90% of the argon2 ceiling",
            f"{f['rate']:.1f} flows/s = {share * 100:.0f}% of {ceiling:.1f} password checks/s", share >= 0.9)
    mem = p and p.get("memory")
    if mem:
        add("(h) peak RSS", "< 64 MiB", f"{mem['peak_rss_mib']:.1f} MiB", mem["peak_rss_mib"] < 64)
        add("(h) idle RSS", "< 16 MiB", f"{mem['idle_rss_mib']:.1f} MiB", mem["idle_rss_mib"] < 16)

    retries = []
    try:
        for line in open(os.path.join(raw_dir, "retries.txt")):
            server, scenario, other = line.split()
            retries.append({"server": server, "scenario": scenario, "other_cores_busy": float(other)})
    except FileNotFoundError:
        pass

    return {
        "meta": meta, "servers": servers, "ratios": ratios, "remeasured": retries,
        "argon2_ceiling": {"http_password_checks_per_s": ceiling,
                           "in_process_password_checks_per_s": in_process,
                           "f_flows_share": (f["rate"] / ceiling) if f and ceiling else None},
        "costs": costs, "targets": targets,
    }


# ---------------------------------------------------------------- chart


def svg_chart(result):
    rows = []
    for sc, label, _ in SCENARIOS:
        r = result["ratios"].get(sc, {}).get("sqlite")
        if not r:
            continue
        cpu = r["cpu_per_request_ratio"]
        rows.append((label, r["rate_ratio"], (1 / cpu) if cpu else None, TARGETS.get(sc)))
    lo, hi = 0.5, 100.0
    for _, a, b, _ in rows:
        for v in (a, b):
            if v:
                lo, hi = min(lo, v / 1.5), max(hi, v * 1.5)
    left, width, bar, gap, top = 230, 520, 13, 14, 58
    height = top + len(rows) * (2 * bar + gap) + 60
    W = left + width + 40

    def x(v):
        return left + width * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
           f'viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{height}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">'
           'Portcullis (SQLite) relative to oidc-provider, same machine and load</text>',
           f'<rect x="{left}" y="30" width="12" height="10" fill="#2b6cb0"/>'
           f'<text x="{left + 16}" y="39">requests/s ratio</text>',
           f'<rect x="{left + 140}" y="30" width="12" height="10" fill="#dd6b20"/>'
           f'<text x="{left + 156}" y="39">CPU efficiency (peer CPU/request ÷ Portcullis CPU/request)</text>']
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if lo <= t <= hi]
    axis_y = height - 40
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{axis_y}" '
                   f'stroke="{"#333" if t == 1 else "#ddd"}" stroke-width="1"/>')
        out.append(f'<text x="{x(t):.1f}" y="{axis_y + 15}" text-anchor="middle">{t:g}×</text>')
    out.append(f'<text x="{left + width / 2}" y="{axis_y + 32}" text-anchor="middle">'
               'ratio (log scale; right of 1× favours Portcullis; black ticks: targets)</text>')
    y = top
    for label, rate, eff, target in rows:
        out.append(f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">{html.escape(label)}</text>')
        for v, colour, goal in ((rate, "#2b6cb0", target and target[0]),
                                (eff, "#dd6b20", target and target[1] and 1 / target[1])):
            if v:
                x0, x1 = x(max(lo, 1.0)) if v >= 1 else x(v), x(v) if v >= 1 else x(1.0)
                out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(1.0, x1 - x0):.1f}" '
                           f'height="{bar}" fill="{colour}"/>')
                out.append(f'<text x="{x(v) + 4 if v >= 1 else x(1.0) + 4:.1f}" y="{y + bar - 2}" '
                           f'font-size="11">{fmt_ratio(v)}</text>')
            if goal:
                out.append(f'<line x1="{x(goal):.1f}" y1="{y - 1}" x2="{x(goal):.1f}" '
                           f'y2="{y + bar + 1}" stroke="black" stroke-width="2"/>')
            y += bar
        y += gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- tables


def table(result):
    servers = result["servers"]
    cols = [k for k, _ in SERVERS if k in servers]
    lines = []
    head = "| scenario | " + " | ".join(
        f"{servers[k]['name']}: rate/s · p50 · p99 (ms) · errors · server CPU ms/req" for k in cols)
    head += " | rate ratio | CPU/req ratio |"
    lines.append(head)
    lines.append("|---" * (len(cols) + 3) + "|")
    for sc, label, _ in SCENARIOS:
        cells = [label]
        for k in cols:
            m = servers[k]["scenarios"].get(sc)
            if not m:
                cells.append("–")
                continue
            cpu = fmt(m["server_cpu_ms_per_req"], 3)
            if m.get("db_cpu_ms_per_req") is not None:
                cpu += f" (+{fmt(m['db_cpu_ms_per_req'], 3)} db)"
            mark = " †" if (m.get("other_cores_busy") or 0) > CONTENDED else ""
            cells.append(f"{fmt(m['rate'])} · {fmt(m['p50_ms'], 2)} · {fmt(m['p99_ms'], 2)} · "
                         f"{m['errors']} · {cpu}{mark}")
        r = result["ratios"].get(sc, {}).get("sqlite") or {}
        cells.append(fmt_ratio(r.get("rate_ratio")))
        c = r.get("cpu_per_request_ratio")
        cells.append(f"{fmt_ratio(c)} (1/{1 / c:.1f})" if c else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def driver_table(result):
    servers = result["servers"]
    cols = [k for k, _ in SERVERS if k in servers]
    lines = ["| scenario | " + " | ".join(
        f"{servers[k]['name']}: server · load generator · everything else" for k in cols) + " |",
        "|---" * (len(cols) + 1) + "|"]
    for sc, label, _ in SCENARIOS:
        cells = [label]
        for k in cols:
            m = servers[k]["scenarios"].get(sc)
            cells.append(f"{fmt(m['server_cores_busy'], 2)} · {fmt(m['driver_cores_busy'], 2)} · "
                         f"{fmt(m.get('other_cores_busy'), 2)}" if m else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(result, svg_name):
    meta = result["meta"]
    m, v = meta.get("machine", {}), meta.get("versions", {})
    servers = result["servers"]
    p = servers.get("portcullis_sqlite", {})
    ceil = result["argon2_ceiling"]
    out = []
    w = out.append
    w("# Benchmarks: Portcullis and oidc-provider side by side\n")
    w(f"Generated by `bench/run` on {meta.get('date', '?')}: {meta.get('run_seconds', '?')} s in all, "
      f"of which {meta.get('build_and_install_seconds', '?')} s building Portcullis and installing the "
      f"peer. Raw numbers: `bench/results/{meta.get('date', '')[:10]}.json`. How to run it and "
      "what each part does: [bench/README.md](bench/README.md).\n")
    w("## Targets (Portcullis on SQLite against the peer)\n")
    w("| target | goal | measured | met |")
    w("|---|---|---|---|")
    for t in result["targets"]:
        met = {True: "**met**", False: "not met", None: "–"}[t["met"]]
        w(f"| {t['target']} | {t['goal']} | {t['value']} | {met} |")
    w("")
    w(f"![Ratios of Portcullis (SQLite) to oidc-provider]({svg_name})\n")
    w("## Results\n")
    w(f"{meta.get('connections', 16)} connections (flows: {meta.get('connections', 16)} worker processes), "
      f"{meta.get('warmup_s', '?'):g} s warm-up then a {meta.get('duration_s', '?'):g} s window per scenario. "
      "Rates count successful requests or flows only; *errors* are non-2xx/3xx answers, "
      "answers without the expected token, socket errors or failed flows. Server CPU is "
      "utime + stime of the server process over the window, divided by the requests "
      "(or flows) completed in it; for Postgres, *db* is the CPU of the Postgres processes. "
      "Ratios are Portcullis (SQLite) ÷ peer: a rate ratio above 1 and a CPU ratio below 1 "
      "favour Portcullis.\n")
    w(table(result))
    w("")
    contended = [(servers[k]["name"], label) for k, _ in SERVERS if k in servers
                 for sc, label, _ in SCENARIOS
                 if (servers[k]["scenarios"].get(sc) or {}).get("other_cores_busy", 0) > CONTENDED]
    if result.get("remeasured"):
        w(f"{len(result['remeasured'])} window(s) in which other processes used more than "
          f"{CONTENDED} cores were measured again once the machine was quiet: "
          + ", ".join(f"{dict(SERVERS).get(r['server'], r['server'])} {r['scenario'][:1]} "
                      f"({r['other_cores_busy']:.2f} cores)" for r in result["remeasured"]) + ".\n")
    if contended:
        w(f"† Other processes used more than {CONTENDED} cores during this window even "
          "after a retry (see the next table): the machine was shared, so rate and latency "
          f"there are pessimistic. {len(contended)} window(s) affected.\n")
    w("Cores busy during each window (the server and the load generator share the "
      f"{m.get('nproc', '?')} cores; the flow driver is Python and costs far more CPU per request than wrk; "
      "*everything else* is the rest of the machine from `/proc/stat` — the Postgres "
      "column's database CPU is listed in the table above, and anything above a few "
      "hundredths means other work competed for the cores during that window):\n")
    w(driver_table(result))
    w("")
    w("### Memory (h)\n")
    w("| server | idle RSS after start | RSS after the run | peak RSS (VmHWM) |")
    w("|---|---|---|---|")
    for k, name in SERVERS:
        mem = servers.get(k, {}).get("memory")
        if mem:
            w(f"| {name} | {mem['idle_rss_mib']:.1f} MiB | {mem['after_load_rss_mib']:.1f} MiB | "
              f"{mem['peak_rss_mib']:.1f} MiB |")
    w("")
    w("### The argon2 ceiling (f)\n")
    if ceil["http_password_checks_per_s"]:
        c = p.get("argon2_ceiling", {})
        w("Measured over HTTP after the scenarios: 8 connections posting a wrong password "
          "for an unknown user (the same argon2id work as a real sign-in, m=19 MiB, t=2, p=1, "
          "on the default one hashing thread per core) to one pending login form: "
          f"**{ceil['http_password_checks_per_s']:.1f} password checks/s** "
          f"(p50 {fmt(c.get('p50_ms'), 1)} ms, {fmt(c.get('server_cpu_ms_per_req'), 1)} ms of server CPU each). "
          f"Fresh-browser flows (f) reached {fmt((ceil['f_flows_share'] or 0) * 100, 0)}% of it"
          + (f" and {p['scenarios']['f_flows_fresh']['rate'] / ceil['in_process_password_checks_per_s'] * 100:.0f}% "
             "of the in-process figure" if ceil.get("in_process_password_checks_per_s") and p.get("scenarios", {}).get("f_flows_fresh") else "")
          + ".")
    if ceil.get("in_process_password_checks_per_s"):
        w("")
        w(f"In process (`bench_costs`), one verification takes {result['costs']['argon2_verify_ms']:.1f} ms, "
          f"so {m.get('nproc', '?')} cores could do {ceil['in_process_password_checks_per_s']:.1f}/s "
          "with nothing else to do. A flow also needs the server's other work "
          f"({fmt((p['scenarios']['f_flows_fresh']['server_cpu_ms_per_req'] or 0) - result['costs']['argon2_verify_ms'], 1)} ms "
          "of CPU per flow beyond the hash, from the table) and shares the cores with the driver."
          if p.get("scenarios", {}).get("f_flows_fresh") else "")
    w("")
    logged = [(servers[k]["name"], servers[k]["server_log_errors"]) for k, _ in SERVERS
              if servers.get(k, {}).get("server_log_errors", {}).get("count")]
    warm = [(servers[k]["name"], label, m["warmup_errors"]) for k, _ in SERVERS if k in servers
            for sc, label, _ in SCENARIOS
            for m in [servers[k]["scenarios"].get(sc) or {}] if m.get("warmup_errors")]
    if logged or warm:
        w("### Errors outside the windows\n")
        for name, e in logged:
            kinds = "; ".join(f"{n} × `{msg}`" for msg, n in e["messages"])
            w(f"- {name} logged {e['count']} ERROR line(s) over the run: {kinds}")
        for name, label, n in warm:
            w(f"- {name}, {label}: {n} failed flow(s) during the warm-up (not counted above)")
        w("")
    costs = result.get("costs")
    if costs and costs.get("rows"):
        w("### Per-request costs, in process (`bench/costs.rs`)\n")
        w("| operation | median µs |")
        w("|---|---|")
        for row in costs["rows"]:
            w(f"| {row['name']} | {row['us']:.1f} |")
        w("")
    w("## Method\n")
    w(f"- **Machine:** {m.get('cpu', '?')}, {m.get('nproc', '?')} cores"
      f"{' (' + m['hypervisor'] + ' guest)' if m.get('hypervisor') else ''}, {m.get('memory_mib', '?')} MiB, "
      f"Linux {m.get('kernel', '?')}. Everything on 127.0.0.1: servers, load generators and "
      "Postgres share the cores, so the load generators' CPU is listed above.")
    w(f"- **Versions:** Portcullis {v.get('portcullis', '?')} (commit {v.get('portcullis_commit', '?')}, "
      f"{v.get('rustc', '?')}, release build); oidc-provider {v.get('oidc-provider', '?')} on node "
      f"{v.get('node', '?')}; {v.get('wrk', 'wrk')}; Python {v.get('python', '?')}; "
      f"Postgres {v.get('postgres') or '–'}.")
    w("- **Portcullis:** `portcullis serve` on a fresh SQLite file in a temp dir "
      "(`PORTCULLIS_DATABASE_URL=sqlite:///tmp/…/bench.db`; the Postgres column uses a fresh "
      "database made with `createdb` and dropped after, with `PORTCULLIS_MASTER_KEY`), "
      "default settings except the rate limits, which the benchmark turns off with their "
      "documented settings: `PORTCULLIS_LOGIN_RATE_LIMIT=0`, `PORTCULLIS_AUTHORIZE_RATE_LIMIT=0`, "
      "`PORTCULLIS_TOKEN_RATE_LIMIT=0`, `PORTCULLIS_INTROSPECTION_RATE_LIMIT=0`, "
      "`PORTCULLIS_USERINFO_RATE_LIMIT=0` (one load generator on one address would otherwise "
      "hit them). Clients and users are made with the CLI (`client create --json`, "
      "`user create --password-stdin`): argon2id password hashes, HMAC'd client secrets.")
    w("- **Peer:** [panva/node-oidc-provider](https://github.com/panva/node-oidc-provider) "
      "(`bench/peer`, pinned in package-lock.json) in one node process, `NODE_ENV=production`. "
      "Same three clients, RS256 ID tokens, ES256 JWT access tokens for the service client "
      "(through a default resource indicator), PKCE required, refresh tokens rotated on every "
      "use, introspection and revocation on, lifetimes as Portcullis's defaults, keys "
      "generated at start. Differences to keep in mind: **the peer hashes no passwords** "
      "(its login form compares the plain password in constant time), so (f) is not a like-"
      "for-like comparison; its code-flow access tokens are the library's opaque tokens "
      "(JWTs only for resource servers), so (d), (e), (f) and (g) sign one JWT less per "
      "answer than Portcullis; it keeps everything in memory (an unbounded Map adapter, "
      "`bench/peer/adapter.mjs`: the library's own development adapter is a 1000-entry LRU "
      "that evicts live tokens under load) where Portcullis writes to its database; it is "
      "one process, so it can use about one core (the in-memory store cannot be shared by "
      "a cluster); and oidc-provider 9 warns that node 20 is not a supported runtime "
      "(node 22+ is). oidc-provider drops `offline_access` unless `prompt=consent`, so the "
      "peer is set to issue refresh tokens to its code-flow clients regardless.")
    w("- **Clients:** `bench-service` (client_credentials, client_secret_basic, scope "
      "`api:read`, ES256 JWT access tokens), `bench-web` (confidential; authorization_code + "
      "refresh_token; redirect URI `http://127.0.0.1:8999/cb`; scope `openid profile email "
      "offline_access`; RS256 ID tokens), `bench-public` (public, PKCE; one flow per server as "
      "a check, not timed). Users: `bench-user-0` … `bench-user-15`, one per browser of "
      "(f) and (g) (16 people signing in, not one account hammered from 16 browsers).")
    w("- **Load:** `wrk` with Lua scripts (`bench/driver/wrk_*.lua`), "
      f"{meta.get('wrk_threads', 2)} threads and {meta.get('connections', 16)} connections, "
      "for (a)–(e). (d) introspects a user access token from a real code flow, authenticated "
      "as the client it was issued to. (e) starts from refresh tokens obtained through real "
      "code flows; each connection's request takes a token and the answer's new refresh "
      "token goes back to the thread's pool, so every request rotates and no token is sent "
      "twice. (f) and (g) are `bench/driver/flows.py`: 16 processes, each a browser that "
      "follows redirects, keeps cookies, parses the login and consent forms (action, hidden "
      "request id and CSRF token, the Allow button), fills in the user's password, checks "
      "`state` and `iss`, redeems the code with the PKCE S256 verifier and checks the "
      "`id_token` (`nonce`, `aud`) and the refresh token. (f) uses a new cookie jar for "
      "every flow; (g) signs in and consents once per worker, then repeats flows with that "
      "session (authorize → redirect with code → token).")
    w("- **CPU:** utime + stime from `/proc/PID/stat` of the server before and after the "
      "window (clock ticks of `getconf CLK_TCK`). Memory: `VmRSS` after start (idle, before "
      "any request but the readiness probe) and after the run, `VmHWM` as the peak.")
    w("")
    return "\n".join(out) + "\n"


CONNS = 16
# Other processes using more than this many cores during a window mark it contended.
CONTENDED = 0.25


def main():
    global CONNS
    ap = argparse.ArgumentParser()
    ap.add_argument("--line", help="print one raw file's numbers on one line and stop")
    ap.add_argument("--contended", help="exit 0 (and print the cores) when other processes "
                    "used more than CONTENDED cores in this raw window, 1 otherwise")
    ap.add_argument("--log-errors", help="summarise a server log's ERROR lines as JSON and stop")
    ap.add_argument("--raw")
    ap.add_argument("--json")
    ap.add_argument("--svg")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    if args.line:
        m = metrics(load(args.line))
        unit = "requests" if "requests" in load(args.line) else "flows"
        print(f"{m['rate']:,.1f} {unit}/s, p50 {fmt(m['p50_ms'], 2)} ms, p99 {fmt(m['p99_ms'], 2)} ms, "
              f"{m['errors']} errors, server CPU {fmt(m['server_cpu_ms_per_req'], 3)} ms each"
              + (f", {m['warmup_errors']} in the warm-up" if m.get("warmup_errors") else "")
              + (f" ({m['error_samples'][0]})" if m.get("error_samples") else ""))
        return
    if args.contended:
        other = metrics(load(args.contended)).get("other_cores_busy") or 0
        print(f"{other:.2f}")
        raise SystemExit(0 if other > CONTENDED else 1)
    if args.log_errors:
        lines = [l for l in open(args.log_errors, errors="replace") if " ERROR " in l]
        kinds = collections.Counter(re.sub(r"^\S+\s+ERROR\s+", "", l).strip()[:200] for l in lines)
        print(json.dumps({"count": len(lines), "messages": kinds.most_common(5)}))
        return
    if not (args.raw and args.json):
        ap.error("--raw and --json are required")
    result = build(args.raw)
    CONNS = result["meta"].get("connections", 16)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg_chart(result))
    if args.markdown:
        svg_rel = os.path.relpath(os.path.abspath(args.svg), os.path.dirname(os.path.abspath(args.markdown))) if args.svg else ""
        with open(args.markdown, "w") as f:
            f.write(markdown(result, svg_rel))
    print(table(result))
    print()
    for t in result["targets"]:
        print(f"{'MET ' if t['met'] else 'MISS' if t['met'] is False else '    '} {t['target']}: {t['value']} (goal {t['goal']})")
    for k, name in SERVERS:
        mem = result["servers"].get(k, {}).get("memory")
        if mem:
            print(f"memory {name}: idle {mem['idle_rss_mib']:.1f} MiB, peak {mem['peak_rss_mib']:.1f} MiB")


if __name__ == "__main__":
    main()

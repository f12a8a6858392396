#!/usr/bin/env python3
"""Browser-like OAuth 2 / OpenID Connect flow driver for bench/run (stdlib only).

Each "browser" keeps its own cookie jar (with path matching and expiry), follows
redirects, reads the HTML forms of the login and consent pages (action, hidden inputs,
the submit button) and fills in the username and password, like a person would. A flow
is: GET the authorization endpoint with PKCE S256, state and nonce; sign in and allow
when the pages ask; take the code from the redirect to the client (checking `state`);
redeem it at the token endpoint with the code verifier; check the answer has an
`id_token` whose `nonce` and `aud` are right (and a refresh token when offline_access
was asked for). It works against both Portcullis and the peer because it only follows
what the pages say.

Commands (all print one JSON object on stdout):

  tokens   --chains N        N full flows, each in a fresh browser; prints their refresh
                             tokens and one access token (for the refresh and
                             introspection scenarios)
  login-form                 starts one flow and stops at the login page; prints the
                             cookie header and form fields (for the argon2-ceiling scenario)
  run --mode fresh|session   C worker processes doing flows for warmup + duration
                             seconds; fresh: a new browser for every flow; session: one
                             browser per worker, signed in and consented first. With
                             --server-pid, the server's CPU ticks over the window too.

Common options: --discovery URL --client-id ID [--client-secret S] --redirect-uri URI
--scope S --username U --password P; run also takes --concurrency, --duration,
--warmup, --server-pid and --db-pids.
"""

import argparse
import base64
import hashlib
import http.client
import json
import multiprocessing as mp
import os
import secrets
import sys
import time
import urllib.parse
from html.parser import HTMLParser


# ---------------------------------------------------------------- HTML forms


class FormParser(HTMLParser):
    """Collects every <form>: method, action, inputs and submit buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "method": a.get("method", "get").lower(),
                "action": a.get("action", ""),
                "inputs": [],
                "buttons": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self._form["buttons"].append((a.get("name"), a.get("value", "")))
            else:
                self._form["inputs"].append((kind, a.get("name"), a.get("value", "")))
        elif self._form is not None and tag == "button":
            if a.get("type", "submit").lower() == "submit":
                self._form["buttons"].append((a.get("name"), a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def parse_forms(html):
    p = FormParser()
    p.feed(html)
    p.close()
    return p.forms


# ---------------------------------------------------------------- the browser


class FlowError(Exception):
    pass


class Browser:
    """One user agent: a cookie jar and a keep-alive connection per origin."""

    def __init__(self, conns=None):
        self.jar = {}  # (name, path) -> value
        self.conns = conns if conns is not None else {}

    def cookie_header(self, path):
        pairs = []
        for (name, cpath), value in self.jar.items():
            if path == cpath or path.startswith(cpath.rstrip("/") + "/") or cpath == "/":
                pairs.append(f"{name}={value}")
        return "; ".join(pairs)

    def store_cookies(self, headers, request_path):
        for key, header in headers:
            if key.lower() != "set-cookie":
                continue
            parts = [p.strip() for p in header.split(";")]
            if "=" not in parts[0]:
                continue
            name, value = parts[0].split("=", 1)
            path = request_path.rsplit("/", 1)[0] or "/"
            expired = False
            for attr in parts[1:]:
                k, _, v = attr.partition("=")
                k = k.strip().lower()
                if k == "path" and v.startswith("/"):
                    path = v
                elif k == "max-age":
                    try:
                        expired = int(v) <= 0
                    except ValueError:
                        pass
                elif k == "expires" and "1970" in v:
                    expired = True
            if expired or value == "":
                self.jar.pop((name, path), None)
            else:
                self.jar[(name, path)] = value

    def request(self, method, url, body=None, headers=None):
        u = urllib.parse.urlsplit(url)
        origin = (u.hostname, u.port or 80)
        path = u.path or "/"
        target = path + ("?" + u.query if u.query else "")
        h = {"Accept": "text/html,application/json", "User-Agent": "bench-flows/1"}
        if headers:
            h.update(headers)
        cookies = self.cookie_header(path)
        if cookies:
            h["Cookie"] = cookies
        if body is not None:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        for attempt in (0, 1):
            conn = self.conns.get(origin)
            if conn is None:
                conn = http.client.HTTPConnection(origin[0], origin[1], timeout=30)
                self.conns[origin] = conn
            try:
                conn.request(method, target, body=body, headers=h)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self.conns.pop(origin, None)
                if attempt:
                    raise
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()
            self.conns.pop(origin, None)
        self.store_cookies(resp.getheaders(), path)
        return resp.status, resp.getheader("Location"), data


# ---------------------------------------------------------------- a flow


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def discover(url):
    b = Browser()
    status, _, data = b.request("GET", url)
    if status != 200:
        raise FlowError(f"discovery answered {status}")
    return json.loads(data)


class Flow:
    def __init__(self, meta, args, user=0):
        self.meta = meta
        self.args = args
        # `--username` may hold `{i}`: browser i signs in as user i mod --users.
        self.username = args.username.format(i=user % max(1, args.users))

    def authorize(self, browser, stop_at_login=False):
        """Runs the browser part; returns (code, verifier, nonce) or the login form."""
        a = self.args
        verifier = b64url(secrets.token_bytes(32))
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        state = b64url(secrets.token_bytes(12))
        nonce = b64url(secrets.token_bytes(12))
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": a.client_id,
            "redirect_uri": a.redirect_uri, "scope": a.scope, "state": state,
            "nonce": nonce, "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        url = self.meta["authorization_endpoint"] + "?" + query
        method, body = "GET", None
        for _ in range(12):
            status, location, data = browser.request(method, url, body)
            if status in (301, 302, 303, 307, 308):
                if not location:
                    raise FlowError("redirect without Location")
                target = urllib.parse.urljoin(url, location)
                if target.split("?")[0] == a.redirect_uri:
                    params = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
                    if "error" in params:
                        raise FlowError("authorization error: " + params["error"][0])
                    if params.get("state", [None])[0] != state:
                        raise FlowError("state mismatch")
                    iss = params.get("iss", [None])[0]
                    if iss is not None and iss != self.meta["issuer"]:
                        raise FlowError("iss mismatch")
                    return params["code"][0], verifier, nonce
                if status in (307, 308) and method == "POST":
                    url = target
                else:
                    url, method, body = target, "GET", None
                continue
            if status != 200:
                raise FlowError(f"{method} {urllib.parse.urlsplit(url).path} answered {status}")
            forms = [f for f in parse_forms(data.decode("utf-8", "replace"))
                     if f["method"] == "post"]
            if not forms:
                raise FlowError("a page without a form")
            form = forms[0]
            fields = []
            is_login = any(kind == "password" for kind, _, _ in form["inputs"])
            if is_login and stop_at_login:
                return {"url": urllib.parse.urljoin(url, form["action"]),
                        "cookie": browser.cookie_header(
                            urllib.parse.urlsplit(urllib.parse.urljoin(url, form["action"])).path),
                        "fields": [(n, v) for k, n, v in form["inputs"] if k == "hidden" and n]}
            for kind, name, value in form["inputs"]:
                if not name:
                    continue
                if kind == "password":
                    value = a.password
                elif kind in ("text", "email") and is_login and value == "":
                    value = self.username
                elif kind in ("checkbox", "radio"):
                    continue
                fields.append((name, value))
            button = None
            for name, value in form["buttons"]:
                if value.lower() in ("allow", "yes", "accept", "continue"):
                    button = (name, value)
                    break
            if button is None and form["buttons"]:
                button = form["buttons"][0]
            if button and button[0]:
                fields.append(button)
            url = urllib.parse.urljoin(url, form["action"])
            method, body = "POST", urllib.parse.urlencode(fields)
        raise FlowError("too many steps")

    def redeem(self, browser, code, verifier, nonce):
        a = self.args
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": a.redirect_uri, "code_verifier": verifier}
        headers = {"Accept": "application/json"}
        if a.client_secret:
            cred = (urllib.parse.quote(a.client_id, safe="") + ":" +
                    urllib.parse.quote(a.client_secret, safe=""))
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        else:
            form["client_id"] = a.client_id
        # The client talks to the token endpoint on its own connection, without the
        # browser's cookies.
        client = Browser(browser.conns)
        status, _, data = client.request("POST", self.meta["token_endpoint"],
                                         urllib.parse.urlencode(form), headers)
        if status != 200:
            raise FlowError(f"token endpoint answered {status}: {data[:200]!r}")
        answer = json.loads(data)
        if "id_token" not in answer or "access_token" not in answer:
            raise FlowError("token answer without id_token or access_token")
        claims = jwt_claims(answer["id_token"])
        if claims.get("nonce") != nonce:
            raise FlowError("id_token nonce mismatch")
        aud = claims.get("aud")
        if aud != a.client_id and not (isinstance(aud, list) and a.client_id in aud):
            raise FlowError("id_token aud mismatch")
        if "offline_access" in a.scope.split() and "refresh_token" not in answer:
            raise FlowError("no refresh token for offline_access")
        return answer

    def one(self, browser):
        code, verifier, nonce = self.authorize(browser)
        return self.redeem(browser, code, verifier, nonce)


# ---------------------------------------------------------------- load


def percentile(sorted_xs, p):
    if not sorted_xs:
        return None
    k = min(len(sorted_xs) - 1, max(0, int(round(p / 100 * len(sorted_xs) + 0.5)) - 1))
    return sorted_xs[k]


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def machine_busy():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:8]) - fields[3] - fields[4]


def worker(index, args, meta, start, warm_end, end, queue):
    flow = Flow(meta, args, index)
    conns = {}
    browser = Browser(conns)
    lat, errors, warm_errors, samples = [], 0, 0, []
    try:
        if args.mode == "session":
            flow.one(browser)  # sign in and consent once
    except Exception as e:  # noqa: BLE001
        queue.put({"setup_error": str(e)})
        return
    while time.time() < start:
        time.sleep(0.001)
    cpu0 = None
    while True:
        now = time.time()
        if now >= end:
            break
        if cpu0 is None and now >= warm_end:
            cpu0 = time.process_time()
        if args.mode == "fresh":
            browser = Browser(conns)
        t0 = time.perf_counter()
        error = None
        try:
            flow.one(browser)
        except Exception as e:  # noqa: BLE001
            error = str(e)[:200]
        t1 = time.perf_counter()
        if now < warm_end:
            warm_errors += error is not None
        elif time.time() <= end:
            if error is None:
                lat.append((t1 - t0) * 1000)
            else:
                errors += 1
                if len(samples) < 3:
                    samples.append(error)
    cpu1 = time.process_time()
    queue.put({"lat": lat, "errors": errors, "warm_errors": warm_errors, "samples": samples,
               "cpu": cpu1 - (cpu0 if cpu0 is not None else cpu1)})


def cmd_run(args, meta):
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start = time.time() + 1.0 + 0.05 * args.concurrency  # time to sign in (session)
    if args.mode == "session":
        start += 2.0
    warm_end = start + args.warmup
    end = warm_end + args.duration
    procs = [ctx.Process(target=worker, args=(i, args, meta, start, warm_end, end, queue))
             for i in range(args.concurrency)]
    for p in procs:
        p.start()
    ticks0 = None
    db = [int(p) for p in args.db_pids.split(",") if p]
    if args.server_pid:
        while time.time() < warm_end:
            time.sleep(0.005)
        ticks0, db0 = proc_ticks(args.server_pid), {p: proc_ticks(p) for p in db}
        m0 = machine_busy()
        while time.time() < end:
            time.sleep(0.005)
        ticks1, db1 = proc_ticks(args.server_pid), {p: proc_ticks(p) for p in db}
        m1 = machine_busy()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    setup_errors = [r["setup_error"] for r in results if "setup_error" in r]
    lat = sorted(x for r in results for x in r.get("lat", []))
    errors = sum(r.get("errors", 0) for r in results) + len(setup_errors)
    samples = setup_errors + [s for r in results for s in r.get("samples", [])]
    out = {
        "mode": args.mode, "concurrency": args.concurrency,
        "duration_s": args.duration, "flows": len(lat), "errors": errors,
        "rate": len(lat) / args.duration,
        "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
        "driver_cpu_s": sum(r.get("cpu", 0) for r in results),
        "warmup_errors": sum(r.get("warm_errors", 0) for r in results),
        "error_samples": samples[:5],
        "users": args.users,
    }
    if ticks0 is not None:
        out["server_ticks"] = ticks1 - ticks0
        out["machine_ticks"] = m1 - m0
        out["db_ticks"] = (sum(db1[p] - db0[p] for p in db
                               if db0[p] is not None and db1[p] is not None)
                           if db else None)
    out["clk_tck"] = os.sysconf("SC_CLK_TCK")
    print(json.dumps(out))


def cmd_tokens(args, meta):
    conns = {}
    refresh, access = [], None
    for i in range(args.chains):
        answer = Flow(meta, args, i).one(Browser(conns))
        refresh.append(answer["refresh_token"])
        access = answer["access_token"]
    print(json.dumps({"refresh_tokens": refresh, "access_token": access}))


def cmd_login_form(args, meta):
    flow = Flow(meta, args)
    form = flow.authorize(Browser(), stop_at_login=True)
    if not isinstance(form, dict):
        raise FlowError("no login page")
    print(json.dumps(form))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["run", "tokens", "login-form"])
    ap.add_argument("--discovery", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", default="")
    ap.add_argument("--redirect-uri", required=True)
    ap.add_argument("--scope", default="openid profile email offline_access")
    ap.add_argument("--username", required=True, help="may hold {i}: see --users")
    ap.add_argument("--users", type=int, default=1,
                    help="browser i signs in as --username with {i} = i mod USERS")
    ap.add_argument("--password", required=True)
    ap.add_argument("--mode", choices=["fresh", "session"], default="fresh")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--chains", type=int, default=16)
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--db-pids", default="", help="comma-separated database process ids")
    args = ap.parse_args()
    meta = discover(args.discovery)
    try:
        {"run": cmd_run, "tokens": cmd_tokens, "login-form": cmd_login_form}[args.command](args, meta)
    except FlowError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

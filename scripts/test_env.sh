# Sourced by test.sh and check.sh: what the tests need around them (run from the repository root).
# The browser test needs Debian's chromium and its driver: installed quietly when running as root
# with apt; otherwise that test skips and says why.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
            </dev/null >/dev/null 2>&1 || echo "note: chromium could not be installed; the browser test will skip" >&2
    fi
fi
# Tests use the server on 127.0.0.1:5432 when it answers (starting the machine's cluster if it
# is installed but stopped); otherwise they fall back to the embedded server.
if ! .venv/bin/python -c "import psycopg; psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres', connect_timeout=3).close()" 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n 1)" main start || true
    fi
fi
DAGSTER_HOME="$(mktemp -d)"
export DAGSTER_HOME
cp dagster_home/dagster.yaml "$DAGSTER_HOME/"

#!/usr/bin/env bash
# Deploy exotel-bridge to Google Cloud Run from a terminal, and print the Exotel stream URL.
#
#   scripts/deploy.sh [--stack dev] [--yes] [--skip-tests]
#
# Checks every prerequisite first and reports all that are missing at once (Node.js 20+ and npm to
# install, the Pulumi CLI and a backend login, a running Docker engine, gcloud Application Default
# Credentials, a filled-in Pulumi.<stack>.yaml with the API key stored as a secret), installs
# dependencies when missing, runs the tests, runs `pulumi up` on the Node.js 24 that `npm ci`
# installs, checks GET /health and prints the wss:// URL to paste into Exotel's Voicebot applet.
# Environment: PULUMI_STACK (default stack), PULUMI_CONFIG_PASSPHRASE (else pulumi prompts).
set -euo pipefail

stack="${PULUMI_STACK:-dev}"
yes=""
skip_tests=""

# The comment block under the shebang, and nothing after it.
usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

die() {
  printf 'deploy: %s\n' "$*" >&2
  exit 1
}

missing=()
need() {
  command -v "$1" >/dev/null 2>&1 || {
    missing+=("$1 not found. $2")
    return 1
  }
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -s | --stack)
      [[ $# -ge 2 ]] || die "$1 needs a stack name"
      stack="$2"
      shift 2
      ;;
    -y | --yes)
      yes=1
      shift
      ;;
    --skip-tests)
      skip_tests=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done

cd "$(dirname "$0")/.."

echo "==> Checking prerequisites"
# Every check runs, so one attempt lists everything to fix.
if need node "Install Node.js 20 or newer (24 recommended): https://nodejs.org"; then
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  [[ "$node_major" -ge 20 ]] || missing+=("Node.js $(node --version) is too old to install with: 20 or newer is needed")
fi
need npm "It ships with Node.js." || true
if need pulumi "Install the Pulumi CLI: curl -fsSL https://get.pulumi.com | sh"; then
  pulumi whoami >/dev/null 2>&1 ||
    missing+=("not logged in to a Pulumi state backend: 'pulumi login gs://<bucket>' (or 'pulumi login --local')")
fi
if need docker "Install Docker (Desktop or Engine): the image is built locally and pushed."; then
  docker info >/dev/null 2>&1 || missing+=("the Docker engine is not running (start Docker Desktop or dockerd)")
fi
if need gcloud "Install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install"; then
  gcloud auth application-default print-access-token >/dev/null 2>&1 ||
    missing+=("no Application Default Credentials: run 'gcloud auth application-default login'")
fi
stack_file="Pulumi.${stack}.yaml"
if [[ ! -f "$stack_file" ]]; then
  missing+=("$stack_file not found: copy Pulumi.dev.yaml to it and fill it in")
elif placeholders="$(grep -nE ':[[:space:]]*"?your-' "$stack_file")"; then
  missing+=("$stack_file still has placeholders; replace them first:
$placeholders")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  printf 'deploy: %d prerequisite(s) missing:\n' "${#missing[@]}" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

if [[ ! -d node_modules/@pulumi/pulumi || ! -d app/node_modules ]]; then
  echo "==> Installing dependencies (npm ci, root and app/)"
  npm ci --no-audit --no-fund
fi
# npm ci installed Node.js 24 (the `node` devDependency) into node_modules/.bin: put it first so
# the Pulumi CLI runs the program on it (the Pulumi SDK needs 22 or newer), whatever the system has.
PATH="$PWD/node_modules/.bin:$PATH"
export PATH

pulumi stack select --create "$stack" >/dev/null

# The API key must be in the stack config, and encrypted there (a plain value would sit in git).
api_key_secret="$(pulumi config --stack "$stack" --json | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const entry = JSON.parse(s)["exotel-bridge:elevenlabsApiKey"];
    process.stdout.write(entry === undefined ? "missing" : entry.secret ? "secret" : "plain");
  });')"
case "$api_key_secret" in
  secret) ;;
  missing) die "no ElevenLabs API key: pulumi config set --stack $stack --secret elevenlabsApiKey" ;;
  *) die "elevenlabsApiKey is stored in plain text: pulumi config set --stack $stack --secret elevenlabsApiKey" ;;
esac

if [[ -z "$skip_tests" ]]; then
  echo "==> Running the tests (npm test; --skip-tests skips)"
  npm test
fi

echo "==> Installing the provider plugins the program pins"
pulumi plugin install resource gcp "$(node -p 'require("@pulumi/gcp/package.json").version')"
pulumi plugin install resource docker-build "$(node -p 'require("@pulumi/docker-build/package.json").version')"

echo "==> pulumi up --stack $stack"
pulumi up --stack "$stack" ${yes:+--yes}

service_url="$(pulumi stack output serviceUrl --stack "$stack")"
stream_url="$(pulumi stack output exotelStreamUrl --stack "$stack")"
# Only a stack whose console is on and has a credential exports it.
console_url="$(pulumi stack output consoleUrl --stack "$stack" 2>/dev/null || true)"

# /health, never /healthz: Cloud Run's front end reserves paths ending in "z" and answers them itself,
# so from outside /healthz never reaches the bridge (the probes inside Cloud Run are not affected).
if command -v curl >/dev/null 2>&1; then
  echo "==> Checking $service_url/health"
  curl -fsS --retry 10 --retry-delay 3 --retry-all-errors "$service_url/health" >/dev/null ||
    die "the service did not answer /health; see: gcloud run services logs read --region <region> <service>"
fi

cat <<EOF

Deployed stack '$stack'.
  Service URL:        $service_url
  Exotel stream URL:  $stream_url
  Health (public):    $service_url/health
  Details, metrics:   $service_url/health/details and /metrics, with "Authorization: Bearer <adminToken>"
EOF
if [[ -n "$console_url" ]]; then
  echo "  Live call console:  $console_url (HTTP Basic auth: consoleBasicAuth, else exotelBasicAuth)"
fi
cat <<EOF

Paste the stream URL into the Voicebot applet of your Exotel flow.
EOF

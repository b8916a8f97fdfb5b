#!/usr/bin/env bash
# Deploy exotel-bridge to Google Cloud Run from a terminal, and print the Exotel stream URL.
#
#   scripts/deploy.sh [--stack dev] [--yes] [--skip-tests]
#
# Checks every prerequisite first (Node.js 20+, npm, the Pulumi CLI and a backend login, a running
# Docker engine, gcloud Application Default Credentials, a filled-in Pulumi.<stack>.yaml with the
# API key stored as a secret), installs dependencies when missing, runs the tests, runs
# `pulumi up`, checks /healthz and prints the wss:// URL to paste into Exotel's Voicebot applet.
# Environment: PULUMI_STACK (default stack), PULUMI_CONFIG_PASSPHRASE (else pulumi prompts).
set -euo pipefail

stack="${PULUMI_STACK:-dev}"
yes=""
skip_tests=""

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  printf 'deploy: %s\n' "$*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found. $2"
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
need node "Install Node.js 20 or newer: https://nodejs.org"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" -ge 20 ]] || die "Node.js $(node --version) is too old: 20 or newer is needed"
need npm "It ships with Node.js."
need pulumi "Install the Pulumi CLI: curl -fsSL https://get.pulumi.com | sh -s -- --version 3.248.0"
need docker "Install Docker (Desktop or Engine): the image is built locally and pushed."
docker info >/dev/null 2>&1 || die "the Docker engine is not running (start Docker Desktop or dockerd)"
need gcloud "Install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install"
gcloud auth application-default print-access-token >/dev/null 2>&1 ||
  die "no Application Default Credentials: run 'gcloud auth application-default login'"
pulumi whoami >/dev/null 2>&1 ||
  die "not logged in to a Pulumi state backend: 'pulumi login gs://<bucket>' (or 'pulumi login --local')"

stack_file="Pulumi.${stack}.yaml"
[[ -f "$stack_file" ]] || die "$stack_file not found: copy Pulumi.dev.yaml to it and fill it in"
if placeholders="$(grep -nE ':[[:space:]]*"?your-' "$stack_file")"; then
  die "$stack_file still has placeholders; replace them first:
$placeholders"
fi

if [[ ! -d node_modules/@pulumi/pulumi || ! -d app/node_modules ]]; then
  echo "==> Installing dependencies (npm ci, root and app/)"
  npm ci --no-audit --no-fund
fi

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

if command -v curl >/dev/null 2>&1; then
  echo "==> Checking $service_url/healthz"
  curl -fsS --retry 10 --retry-delay 3 --retry-all-errors "$service_url/healthz" >/dev/null ||
    die "the service did not answer /healthz; see: gcloud run services logs read --region <region> <service>"
fi

cat <<EOF

Deployed stack '$stack'.
  Service URL:        $service_url
  Exotel stream URL:  $stream_url

Paste the stream URL into the Voicebot applet of your Exotel flow.
EOF

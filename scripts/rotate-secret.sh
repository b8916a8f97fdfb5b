#!/usr/bin/env bash
# Rotate one of the bridge's credentials: store the new value in the stack config (encrypted),
# then `pulumi up`, which writes a new Secret Manager version, rolls a Cloud Run revision that
# reads it, and destroys the old version.
#
#   scripts/rotate-secret.sh [--stack dev] [--yes] elevenlabsApiKey|elevenlabsAgentId|exotelBasicAuth
#
# The new value is read from standard input (piped, or typed at a hidden prompt), never from the
# command line, so it stays out of shell history and the process list:
#   printf '%s' "$NEW_KEY" | scripts/rotate-secret.sh --stack prod --yes elevenlabsApiKey
# Revoke the old credential (ElevenLabs dashboard, or the old Exotel token) once this finishes.
set -euo pipefail

stack="${PULUMI_STACK:-dev}"
yes=""
key=""

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  printf 'rotate-secret: %s\n' "$*" >&2
  exit 1
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
    -h | --help)
      usage
      exit 0
      ;;
    elevenlabsApiKey | elevenlabsAgentId | exotelBasicAuth)
      [[ -z "$key" ]] || die "one key at a time"
      key="$1"
      shift
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done
[[ -n "$key" ]] || {
  usage >&2
  exit 2
}

cd "$(dirname "$0")/.."
command -v pulumi >/dev/null 2>&1 || die "pulumi not found: install the Pulumi CLI"

value=""
if [[ -t 0 ]]; then
  read -r -s -p "New value for $key (stack $stack): " value
  echo
else
  IFS= read -r value || [[ -n "$value" ]] || true
fi
[[ -n "$value" ]] || die "empty value: nothing changed"
if [[ "$key" == "exotelBasicAuth" && "$value" != *:* ]]; then
  die "exotelBasicAuth must look like key:token"
fi

# On stdin again: `pulumi config set` reads the value from there when none is given.
printf '%s' "$value" | pulumi config set --stack "$stack" --secret "$key"
unset value
echo "Stored a new encrypted $key in Pulumi.${stack}.yaml."

pulumi up --stack "$stack" ${yes:+--yes}

cat <<EOF

Rotated $key on stack '$stack': new Secret Manager version, new Cloud Run revision.
Now revoke the old credential, and commit Pulumi.${stack}.yaml (the value in it is encrypted).
Exotel stream URL (unchanged): $(pulumi stack output exotelStreamUrl --stack "$stack")
EOF

#!/usr/bin/env bash
# Rotate one of the bridge's credentials: store the new value in the stack config (encrypted),
# then a targeted `pulumi up` that changes only that secret's version and the Cloud Run service,
# which rolls a revision reading the new version. The image and everything else stay as deployed.
# The old version is disabled, not destroyed: Secret Manager keeps it restorable for 7 days, so a
# rollback to the previous revision works after `gcloud secrets versions enable`.
#
#   scripts/rotate-secret.sh [--stack dev] [--yes] [--config-only] <key>
#
#   <key>          any credential the stack manages (listed below, from infra/managed-secrets.json)
#
#   --config-only  only store the new value; commit and push it, and CI's next deploy rolls it out
#                  (for teams where only CI deploys).
#
# The new value is read from standard input (piped, or typed at a hidden prompt), never from the
# command line, so it stays out of shell history and the process list:
#   printf '%s' "$NEW_KEY" | scripts/rotate-secret.sh --stack prod --yes elevenlabsApiKey
# CI deploys main with the Pulumi.<stack>.yaml committed there: commit and push the changed file
# right after, or CI's next deploy puts the old value back. Revoke the old credential after that.
# exotelBasicAuth and exotelWebhookToken are also in Exotel's applet URLs: change those in the same minute.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# The one list of managed credentials, shared with infra/config.ts: config key -> bridge variable and shape.
secrets_file="$root/infra/managed-secrets.json"

stack="${PULUMI_STACK:-dev}"
yes=""
key=""
config_only=""

# The comment block under the shebang, and nothing after it.
usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
  printf '\nKeys: %s\n' "$(SECRETS_FILE="$secrets_file" node -e '
    const list = JSON.parse(require("fs").readFileSync(process.env.SECRETS_FILE, "utf8"));
    process.stdout.write(Object.keys(list).join(" "));' 2>/dev/null || echo "(infra/managed-secrets.json not readable)")"
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
    --config-only)
      config_only=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*)
      usage >&2
      exit 2
      ;;
    *)
      [[ -z "$key" ]] || die "one key at a time"
      key="$1"
      shift
      ;;
  esac
done
[[ -n "$key" ]] || {
  usage >&2
  exit 2
}

# "<ENV_NAME>\t<shape>\t<problem>" of the key, or exit 2 for a key the stack does not manage.
spec="$(KEY="$key" SECRETS_FILE="$secrets_file" node -e '
  const list = JSON.parse(require("fs").readFileSync(process.env.SECRETS_FILE, "utf8"));
  const s = Object.hasOwn(list, process.env.KEY) ? list[process.env.KEY] : undefined;
  if (!s) process.exit(2);
  process.stdout.write([s.env, s.shape ?? "", s.problem ?? ""].join("\t"));')" || {
  printf 'rotate-secret: "%s" is not a credential this stack manages\n\n' "$key" >&2
  usage >&2
  exit 2
}
IFS=$'\t' read -r env_name shape problem <<<"$spec"

cd "$root"
command -v pulumi >/dev/null 2>&1 || die "pulumi not found: install the Pulumi CLI"
# The Node.js 24 that npm ci installs runs the program (the Pulumi SDK needs 22 or newer).
PATH="$PWD/node_modules/.bin:$PATH"
export PATH

# A targeted up still runs the program in this working tree: uncommitted changes to it would
# reach the service along with the secret. Only the stack file may differ from what is committed.
if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  dirty="$(git status --porcelain -- . ":(exclude)Pulumi.${stack}.yaml")"
  [[ -z "$dirty" || -n "$config_only" ]] ||
    die "the working tree has uncommitted changes; commit or stash them first (or use --config-only):
$dirty"
fi

value=""
if [[ -t 0 ]]; then
  read -r -s -p "New value for $key (stack $stack): " value
  echo
else
  IFS= read -r value || [[ -n "$value" ]] || true
fi
[[ -n "$value" ]] || die "empty value: nothing changed"
# The bridge's own rule for this value (the stack refuses it too); the value goes to node on stdin.
if [[ -n "$shape" ]] && ! printf '%s' "$value" | SHAPE="$shape" node -e '
  let v = ""; process.stdin.on("data", (d) => (v += d)).on("end", () => {
    process.exit(new RegExp(process.env.SHAPE).test(v) ? 0 : 1);
  });'; then
  die "$key $problem: nothing changed"
fi

# On stdin again: `pulumi config set` reads the value from there when none is given.
printf '%s' "$value" | pulumi config set --stack "$stack" --secret "$key"
unset value
echo "Stored a new encrypted $key in Pulumi.${stack}.yaml."

if [[ -n "$config_only" ]]; then
  cat <<EOF

Nothing deployed. Commit and push Pulumi.${stack}.yaml to main: CI's deploy writes the new Secret
Manager version and rolls a revision. Revoke the old credential once that deploy is green.
EOF
  exit 0
fi

# The URNs of this credential's secret version and of the Cloud Run service, from the deployed state.
slug="$(printf '%s' "$env_name" | tr 'A-Z_' 'a-z-')"
# shellcheck disable=SC2016 # JavaScript, not shell: the template literal is for node
targets="$(pulumi stack export --stack "$stack" | SLUG="$slug" node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    let state = {};
    try { state = JSON.parse(s); } catch { process.exit(3); }
    const urns = (state.deployment?.resources ?? []).map((r) => r.urn);
    const version = urns.find((u) => u.endsWith(`$gcp:secretmanager/secretVersion:SecretVersion::secrets-${process.env.SLUG}-version`));
    const service = urns.find((u) => u.includes("$gcp:cloudrunv2/service:Service::"));
    if (!version || !service) process.exit(3);
    process.stdout.write(`${version}\n${service}\n`);
  });')" ||
  die "stack '$stack' has no deployed $key secret version or service yet: run scripts/deploy.sh first (the new value is stored)"
target_args=()
while IFS= read -r urn; do target_args+=(--target "$urn"); done <<<"$targets"

pulumi up --stack "$stack" "${target_args[@]}" ${yes:+--yes}

cat <<EOF

Rotated $key on stack '$stack': new Secret Manager version, new Cloud Run revision; the old version
is disabled and stays restorable for 7 days (gcloud secrets versions enable <n> --secret=<id>).
Now commit and push Pulumi.${stack}.yaml (the value in it is encrypted): CI deploys main, and until
main carries the new value its next deploy would put the old one back. Then revoke the old credential.
Exotel stream URL (unchanged): $(pulumi stack output exotelStreamUrl --stack "$stack")
EOF

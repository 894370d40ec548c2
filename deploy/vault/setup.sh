#!/usr/bin/env bash
# Prepares a Vault server for KIKI (docs/operations.md, "Vault").
#
# What it does, idempotently (run it again after changing a policy):
#   1. enables the KV version 2 secrets engine at kiki/ (KIKI_VAULT_MOUNT);
#   2. writes one policy per KIKI role from policies/kiki-<role>.hcl
#      (api, bidder, worker), each granting read on only the secrets that role
#      needs (roles.toml lists them);
#   3. enables the AppRole auth method and creates one AppRole per role,
#      bound to its policy, and prints each role's role_id;
#   4. enables the Kubernetes auth method (unless KIKI_VAULT_SKIP_KUBERNETES=1)
#      and creates one role per KIKI role, bound to the chart's service account
#      and namespace.
# It never writes secret values: put them with `vault kv put` (example at the
# end) so they do not pass through this script or its logs.
#
# Needs: the `vault` CLI, VAULT_ADDR and a VAULT_TOKEN allowed to manage
# mounts, auth methods and policies (VAULT_NAMESPACE too on Enterprise/HCP).
#
# Settings (environment):
#   KIKI_VAULT_MOUNT        KV v2 mount path                    (default kiki)
#   KIKI_TOKEN_TTL          token TTL of every role             (default 1h)
#   KIKI_TOKEN_MAX_TTL      longest a token may be renewed to   (default 24h)
#   KIKI_K8S_HOST           Kubernetes API URL for the auth method
#                           (default https://kubernetes.default.svc, when Vault
#                           runs in the cluster)
#   KIKI_K8S_NAMESPACE      namespace of the KIKI pods          (default kiki)
#   KIKI_K8S_SERVICE_ACCOUNT service account of the KIKI pods    (default kiki)
#   KIKI_VAULT_SKIP_KUBERNETES=1  do not set up Kubernetes auth
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mount="${KIKI_VAULT_MOUNT:-kiki}"
ttl="${KIKI_TOKEN_TTL:-1h}"
max_ttl="${KIKI_TOKEN_MAX_TTL:-24h}"
k8s_host="${KIKI_K8S_HOST:-https://kubernetes.default.svc}"
k8s_ns="${KIKI_K8S_NAMESPACE:-kiki}"
k8s_sa="${KIKI_K8S_SERVICE_ACCOUNT:-kiki}"
roles=(api bidder worker)

command -v vault >/dev/null || { echo "setup.sh: the vault CLI is not on PATH" >&2; exit 1; }
: "${VAULT_ADDR:?set VAULT_ADDR to the Vault server, e.g. https://vault.internal:8200}"
vault token lookup >/dev/null || { echo "setup.sh: no usable VAULT_TOKEN (vault login first)" >&2; exit 1; }

# 1. KV version 2 at $mount/.
if vault secrets list -format=json | grep -q "\"${mount}/\""; then
  echo "KV engine at ${mount}/ exists"
else
  vault secrets enable -path="$mount" -version=2 kv
fi

# 2. One policy per role. The files grant kiki/data/…; a different mount is substituted.
for role in "${roles[@]}"; do
  sed "s#\"kiki/data/#\"${mount}/data/#" "$here/policies/kiki-${role}.hcl" \
    | vault policy write "kiki-${role}" -
done

# 3. AppRole: one role per KIKI role; the secret ID goes to a file KIKI reads
#    (vault.auth.secret_id_file), created with
#    `vault write -f -field=secret_id auth/approle/role/kiki-<role>/secret-id`.
vault auth list -format=json | grep -q '"approle/"' || vault auth enable approle
for role in "${roles[@]}"; do
  vault write "auth/approle/role/kiki-${role}" \
    token_policies="kiki-${role}" token_ttl="$ttl" token_max_ttl="$max_ttl" \
    secret_id_ttl=0 token_no_default_policy=false
  echo "kiki-${role} role_id: $(vault read -field=role_id "auth/approle/role/kiki-${role}/role-id")"
done

# 4. Kubernetes: pods of the chart's service account log in with their JWT.
if [[ "${KIKI_VAULT_SKIP_KUBERNETES:-0}" != "1" ]]; then
  vault auth list -format=json | grep -q '"kubernetes/"' || vault auth enable kubernetes
  vault write auth/kubernetes/config kubernetes_host="$k8s_host"
  for role in "${roles[@]}"; do
    vault write "auth/kubernetes/role/kiki-${role}" \
      bound_service_account_names="$k8s_sa" \
      bound_service_account_namespaces="$k8s_ns" \
      token_policies="kiki-${role}" token_ttl="$ttl" token_max_ttl="$max_ttl"
  done
fi

cat <<DONE
Vault is ready for KIKI. Write the secrets (keys are KIKI configuration keys), e.g.:
  vault kv put -mount=${mount} common database.url=… redis.url=… security.secret_key=…
  vault kv put -mount=${mount} planner campaigns.llm.api_key=…
  vault kv put -mount=${mount} creative platforms.meta.app_secret=…
  vault kv put -mount=${mount} encryption encryption.current_key=k1 encryption.keys.k1=…
and point each role at them (docs/operations.md, "Vault"):
  KIKI__VAULT__ADDRESS=${VAULT_ADDR} KIKI__VAULT__MOUNT=${mount}
  KIKI__VAULT__PATHS='["common","encryption"]'            # bidder
  KIKI__VAULT__AUTH__METHOD=kubernetes KIKI__VAULT__AUTH__ROLE=kiki-bidder
DONE

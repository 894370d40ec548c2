# KIKI api role: read the common, planner, creative and encryption secrets
# of the KV v2 engine mounted at kiki/ (KV v2 reads go through data/).
path "kiki/data/common" {
  capabilities = ["read"]
}

path "kiki/data/planner" {
  capabilities = ["read"]
}

path "kiki/data/creative" {
  capabilities = ["read"]
}

path "kiki/data/encryption" {
  capabilities = ["read"]
}

# Keep its own token alive (also in Vault's default policy).
path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# KIKI worker role: the same secrets as the api (planning, creative
# generation and platform syncs run as jobs).
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

path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

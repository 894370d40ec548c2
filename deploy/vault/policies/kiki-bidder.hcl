# KIKI bidder role: the common secrets and the encryption key ring only; no
# language-model key and no ad-platform credentials.
path "kiki/data/common" {
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

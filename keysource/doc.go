// Package keysource loads comply's encryption keyring from where it is
// kept, and keeps it current while a process runs.
//
// A source is named by a spec ([Parse]):
//
//	env:NAME                                  an environment variable (keyring text)
//	file:PATH                                 a file, mode 0600 or 0400 (keyring text)
//	aws-sm:SECRET_ID[?region=R&version_stage=S]  AWS Secrets Manager, GetSecretValue
//	vault:MOUNT/PATH[#FIELD]                  HashiCorp Vault KV version 2
//	kms:PATH                                  data keys wrapped by AWS KMS, in a file
//
// Keyring text is [seal.ParseKeyring]'s syntax: keys, optionally "ID:KEY",
// primary first. A secret (Secrets Manager SecretString, or a Vault field)
// may hold keyring text or a JSON object of id to key,
//
//	{"v1": "<old key>", "v2": "<current key>", "primary": "v2"}
//
// the reference library's keys = {"v1": old_key, "v2": current_key}. The
// "primary" member names the key that encrypts; without it the highest
// version is primary, comparing ids by their non-digit prefix and then by
// the number that ends them (v10 is above v9). A Vault secret read without
// #FIELD is such an object: its fields are the ids.
//
// A kms file holds one wrapped key per line, "ID:CIPHERTEXT" with the
// CiphertextBlob in standard base64 as `aws kms encrypt --output text
// --query CiphertextBlob` prints it; the first line is the primary, '#'
// starts a comment. Each is unwrapped with KMS Decrypt when the source is
// loaded; the plaintext is a key's 44-character text or its 32 raw bytes.
//
// AWS sources use the SDK's standard configuration and credential chain
// (environment, shared files, SSO, IMDS), including endpoint overrides
// (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_KMS); Vault uses
// VAULT_ADDR, VAULT_TOKEN and the other variables of its api package.
// The tests of this package run the real SDK clients against local
// servers that speak the services' wire protocols (package keysourcetest),
// not against AWS or Vault.
//
// A [Refresher] holds the keyring loaded from a source and loads it again
// on an interval, so a rotated key (a new primary) is picked up without a
// restart: a Logger given the Refresher as its Options.Keys encrypts with
// the new primary from the next entry on, and older keys still decrypt as
// long as the source keeps them. A failed reload keeps the last good
// keyring and is reported; the first load must succeed, so a Logger that
// must store content never starts without a key (fail closed).
//
// No error or log line of this package contains key material or the
// contents of a secret.
package keysource

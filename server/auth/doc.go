// Package auth holds the bearer tokens of comply serve and their roles.
//
// A token is a random secret shown once, when it is created; only its
// SHA-256 hash is kept, in a blob of the store it guards (store.Sidecar),
// so that every replica of a server over one store shares the same tokens
// and a revocation reaches all of them. Secrets are compared by their
// hashes in constant time, and never appear in errors or logs.
package auth

package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A Role is what a token may do.
type Role string

// The roles. Admin may do everything the others may.
const (
	Ingest  Role = "ingest"  // write entries: POST /v1/entries, /v1/traces, the proxy routes
	Read    Role = "read"    // read entries, counts, stats, proofs and integrity
	Decrypt Role = "decrypt" // decrypt stored content (and everything Read may)
	Admin   Role = "admin"   // everything, and the access log
)

// Roles lists the roles in the order the CLI shows them.
var Roles = []Role{Ingest, Read, Decrypt, Admin}

// ParseRole returns the role named s, or an error naming the roles.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("auth: unknown role %q (want ingest, read, decrypt or admin)", s)
}

// Allows reports whether a token of role r may do what needs role need:
// admin may do everything, decrypt may also read, and every other role
// only its own.
func (r Role) Allows(need Role) bool {
	switch {
	case r == need, r == Admin:
		return true
	case r == Decrypt && need == Read:
		return true
	}
	return false
}

// A Token is what is known of a token: never its secret.
type Token struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
}

// An Authenticator tells who holds a secret: the token whose secret it is,
// or an error wrapping ErrUnknownToken (no such token, or revoked).
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (Token, error)
}

// ErrUnknownToken is wrapped by Authenticate's error when the secret is no
// token's, or the token was revoked.
var ErrUnknownToken = errors.New("auth: unknown token")

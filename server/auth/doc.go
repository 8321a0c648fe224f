// Package auth holds the bearer tokens of comply serve and their roles.
//
// A token is a random secret shown once, when it is created: "cmp_"
// followed by 32 random bytes in unpadded base64url. Only the SHA-256 of
// the secret is kept, in a tokens file (File) at a path the operator
// chooses; by default the CLI puts it at DIR/.comply/tokens.json beside a
// directory store. Secrets are compared by their hashes in constant time,
// and never appear in errors or logs.
//
// # The tokens file
//
// The file is one JSON document, indented, with the tokens sorted by name:
//
//	{
//	  "version": 1,
//	  "tokens": [
//	    {
//	      "name": "ci",
//	      "role": "ingest",
//	      "created": "2026-01-02T03:04:05Z",
//	      "sha256": "<64 lowercase hex digits: SHA-256 of the secret>"
//	    }
//	  ]
//	}
//
// A missing file means no tokens yet. A file with another version, an
// unknown field, a bad name, role or hash, or a name twice is refused. The
// file is replaced atomically (a temporary file of mode 0600, fsync,
// rename, fsync of the directory), so a reader sees the old file or the
// new one; writers (Create, Revoke) in any number of processes take an
// exclusive flock on path+".lock" around their read-modify-write. On
// systems without flock (not Unix) only the writers of one process are
// serialized: run one token command at a time there.
//
// A file that its group or others may write is refused: whoever can write
// it can mint an admin token. One they may only read is accepted, since it
// holds only the hashes of 256-bit random secrets (a reader learns the
// names and roles, not a usable token); Create and Revoke write it back
// with mode 0600.
//
// # Revocation without restart
//
// Authenticate looks at the file's size, modification time and inode at
// most once a second (ReloadInterval), and re-reads it when one changed,
// so a 'comply token revoke' run by another process takes effect in a
// running server within about a second. If the file becomes unreadable
// or invalid, Authenticate fails closed: it returns an error (not one
// wrapping ErrUnknownToken) until the file is good again.
package auth

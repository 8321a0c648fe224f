// Package keyfile reads the small secret files that hold comply's keys
// (encryption keyrings, signer keys, hash keys) with the same checks
// everywhere: a regular file, bounded in size, private to its owner when
// it holds a secret, and a path that is not itself key material.
package keyfile

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"runtime"
	"strings"
)

// ErrKeyAsPath is returned when the value given as a key file's path looks
// like a key itself: a key pasted where a file name belongs. The error
// never repeats the value.
var ErrKeyAsPath = errors.New("the value given as a key file's path looks like a key itself, not the name of a file holding one")

// A ModeError says that a file holding a secret can be read or written by
// users other than its owner.
type ModeError struct {
	Path string
	Mode fs.FileMode
}

func (e *ModeError) Error() string {
	return fmt.Sprintf("key file %s has mode %04o: users other than its owner can access it", e.Path, e.Mode)
}

// verifierKey matches a note verifier key: name+hash+base64.
var verifierKey = regexp.MustCompile(`^[^/\\\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{40,}={0,2}$`)

// LooksLikeKey reports whether s is more likely key material than a file
// name: a note signer or verifier key, a Fernet key or a list of them, or
// anything with a line break.
func LooksLikeKey(s string) bool {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "PRIVATE+KEY+") || strings.ContainsAny(t, "\r\n") || verifierKey.MatchString(t) {
		return true
	}
	for _, part := range strings.Split(t, ",") {
		part = strings.TrimSpace(part)
		if len(part) == 44 && !strings.ContainsAny(part, "/.") {
			if b, err := base64.URLEncoding.DecodeString(part); err == nil && len(b) == 32 {
				return true
			}
		}
	}
	return false
}

// Read returns the contents of the key file at path, at most max bytes. A
// secret file must not be accessible to users other than its owner (a
// *ModeError), except on Windows, which has no such modes.
func Read(path string, secret bool, max int64) ([]byte, error) {
	if LooksLikeKey(path) {
		return nil, ErrKeyAsPath
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); secret && perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, &ModeError{Path: path, Mode: perm}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading key file %s: %w", path, err)
	}
	if int64(len(b)) > max {
		clear(b)
		return nil, fmt.Errorf("key file %s is larger than %d bytes, too large to be a key file", path, max)
	}
	return b, nil
}

package store

import (
	"fmt"
	"strings"
)

// CheckBlobName returns an error if name is not a valid Sidecar blob name.
func CheckBlobName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return fmt.Errorf("blob name %q: want a relative slash-separated path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("blob name %q: empty, '.' or '..' element", name)
		}
		for _, c := range part {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				return fmt.Errorf("blob name %q: character %q not allowed", name, c)
			}
		}
	}
	return nil
}

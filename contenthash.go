package comply

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// A ContentHash computes, from content written to it in pieces, the hash a
// Logger stores for that content (see Logger.Hash), for content too large
// to hold in memory. Set the result as Interaction.InputHash. It is not
// safe for concurrent use.
type ContentHash struct {
	h      hash.Hash
	prefix string
	n      int64
}

// NewContentHash returns a ContentHash with the Logger's hash settings.
func (l *Logger) NewContentHash() *ContentHash {
	if l.opts.HashKey != nil {
		return &ContentHash{h: hmac.New(sha256.New, l.opts.HashKey), prefix: HMACPrefix}
	}
	return &ContentHash{h: sha256.New()}
}

// Write adds p to the content. It never fails.
func (c *ContentHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// Len returns the number of bytes written.
func (c *ContentHash) Len() int64 { return c.n }

// Sum returns the hash of the content written so far.
func (c *ContentHash) Sum() string {
	return c.prefix + hex.EncodeToString(c.h.Sum(nil))
}

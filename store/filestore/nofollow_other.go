//go:build !unix

package filestore

// noFollow is zero where the file store is not supported (see Open).
const noFollow = 0

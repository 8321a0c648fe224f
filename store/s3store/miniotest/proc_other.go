//go:build !unix

package miniotest

import (
	"os"
	"syscall"
)

// procAttr returns nil: the server runs with the default attributes.
func procAttr() *syscall.SysProcAttr { return nil }

// terminate stops the server: without signals it can only be killed.
func terminate(p *os.Process) { p.Kill() }

// kill stops the server at once.
func kill(p *os.Process) { p.Kill() }

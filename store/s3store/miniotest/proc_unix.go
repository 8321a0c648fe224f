//go:build unix && !linux

package miniotest

import (
	"os"
	"syscall"
)

// procAttr puts the server in a process group of its own, so that kill
// reaches its children too. Unlike Linux, these systems cannot kill it
// when the test binary dies; Main's cleanup stops it.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// terminate asks the server to stop.
func terminate(p *os.Process) { p.Signal(syscall.SIGTERM) }

// kill stops the server's process group at once.
func kill(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) }

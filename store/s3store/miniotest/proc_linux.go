package miniotest

import (
	"os"
	"syscall"
)

// procAttr puts the server in a process group of its own, so that kill
// reaches its children too, and has the kernel kill it when the test
// binary dies, even if the binary is killed.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// terminate asks the server to stop.
func terminate(p *os.Process) { p.Signal(syscall.SIGTERM) }

// kill stops the server's process group at once.
func kill(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) }

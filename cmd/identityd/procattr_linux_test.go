package main

import "syscall"

// childAttr makes the kernel kill a server the tests started if the test binary dies
// (a panic, a -timeout), so that no identityd outlives its test holding ports and files.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
